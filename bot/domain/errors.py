"""The one base error of the domain; handlers turn these into Vietnamese replies."""


class LoaError(Exception):
    """Base of every expected error; `user_message` is the Vietnamese text to show."""

    user_message: str = "Đã có lỗi xảy ra. Vui lòng thử lại sau."

    def __init__(self, user_message: str | None = None, *, detail: str | None = None) -> None:
        if user_message is not None:
            self.user_message = user_message
        super().__init__(detail or self.user_message)


class NotFound(LoaError):
    """Something asked for by id does not exist."""

    user_message = "Không tìm thấy nội dung yêu cầu."


class InvalidInput(LoaError):
    """The user's input cannot be used as it is."""

    user_message = "Nội dung không hợp lệ."


class PermissionDenied(LoaError):
    """The user may not do this."""

    user_message = "Bạn không có quyền thực hiện thao tác này."


class ContentError(LoaError):
    """A content file is broken; `path` and `line` say where."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__("Tệp nội dung bị lỗi.", detail=f"{path}:{line}: {message}")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"
