// Loa's admin console: loads server-rendered pages (/ui/...) into <main> and posts actions
// (/api/...) as JSON. Every request carries Telegram's initData (X-Telegram-Init-Data), or,
// in a browser signed in with `loa console-link`, the session's CSRF token (X-Loa-Csrf).
(function () {
  'use strict';

  var tg = window.Telegram && window.Telegram.WebApp;
  var initData = tg && tg.initData ? tg.initData : '';
  var csrfMeta = document.querySelector('meta[name="loa-csrf"]');
  var csrf = csrfMeta ? csrfMeta.content : '';
  var main = document.getElementById('main');
  var nav = document.getElementById('nav');
  var statusLine = document.getElementById('status');
  var current = { page: '', query: '' };
  var refreshTimer = null;
  var previewTimers = {};

  if (tg) {
    tg.ready();
    tg.expand();
  }

  function headers(json) {
    var h = {};
    if (json) h['Content-Type'] = 'application/json';
    if (initData) h['X-Telegram-Init-Data'] = initData;
    else if (csrf) h['X-Loa-Csrf'] = csrf;
    return h;
  }

  function say(text, isError) {
    statusLine.textContent = text || '';
    statusLine.className = isError ? 'error' : (text ? 'ok' : '');
  }

  function call(method, url, body) {
    var options = { method: method, headers: headers(body !== undefined), credentials: 'same-origin' };
    if (body !== undefined) options.body = JSON.stringify(body);
    return fetch(url, options);
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (e) {
      return { ok: false, error: 'Máy chủ trả lời không hợp lệ (' + response.status + ').' };
    }
  }

  function markNav(page) {
    var top = page.split('/')[0];
    nav.querySelectorAll('button').forEach(function (b) {
      if (b.dataset.page === top) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    });
  }

  async function load(page, query, keepStatus) {
    if (refreshTimer) { clearTimeout(refreshTimer); refreshTimer = null; }
    current = { page: page, query: query || '' };
    var response = await call('GET', '/ui/' + page + (query ? '?' + query : ''));
    main.innerHTML = await response.text(); // server-rendered and autoescaped
    var h1 = main.querySelector('h1');
    document.title = (h1 ? h1.textContent : 'Loa') + ' · Loa';
    markNav(page);
    if (!keepStatus) say('');
    afterLoad();
  }

  function reload() { return load(current.page, current.query, true); }

  function afterLoad() {
    main.querySelectorAll('img[data-src]').forEach(async function (img) {
      var response = await call('GET', img.dataset.src);
      if (response.ok) img.src = URL.createObjectURL(await response.blob());
    });
    main.querySelectorAll('select[data-count]').forEach(updateCount);
    var live = main.querySelector('[data-refresh]');
    if (live) {
      refreshTimer = setTimeout(function () {
        // Only refresh while nobody is typing in the page.
        if (!main.contains(document.activeElement) || document.activeElement === main) reload();
      }, Number(live.dataset.refresh) * 1000);
    }
  }

  async function updateCount(select) {
    var out = document.getElementById(select.dataset.count);
    var response = await call('GET', '/api/audience-count?audience=' + encodeURIComponent(select.value));
    var data = await readJson(response);
    out.textContent = data.ok ? String(data.count) : (data.error || '?');
  }

  async function preview(textarea) {
    var target = document.getElementById(textarea.dataset.preview);
    if (!textarea.value.trim()) { target.innerHTML = ''; return; }
    var data = await readJson(await call('POST', '/api/broadcasts/preview', { text: textarea.value }));
    if (data.ok) target.innerHTML = data.html; // validated Telegram HTML, rendered by the server
    else { target.textContent = data.error; target.className = 'preview error'; return; }
    target.className = 'preview';
  }

  async function previewAnswer(textarea) {
    var target = document.getElementById(textarea.dataset.answerPreview);
    if (!textarea.value.trim()) { target.textContent = ''; return; }
    var data = await readJson(await call('POST', '/api/feedback/answer-preview', { answer: textarea.value }));
    target.textContent = data.ok ? data.text : data.error;
  }

  async function post(url, body, next) {
    say('Đang xử lý…');
    var data = await readJson(await call('POST', url, body));
    if (!data.ok) { say(data.error || 'Không thực hiện được.', true); return false; }
    if (next) await load(next, '', true); else await reload();
    say(data.message);
    return true;
  }

  async function downloadFile(url) {
    say('Đang tạo tệp…');
    if (initData) {
      // Inside Telegram the bot sends the file to the user's private chat: in-app browsers
      // do not save blob downloads on every platform (the server's download()).
      var sent = await readJson(await call('GET', url + (url.indexOf('?') < 0 ? '?' : '&') + 'deliver=chat'));
      say(sent.ok ? sent.message : (sent.error || 'Không gửi được tệp.'), !sent.ok);
      return;
    }
    var response = await call('GET', url);
    if (!response.ok) { say((await readJson(response)).error || 'Không tải được tệp.', true); return; }
    var disposition = response.headers.get('Content-Disposition') || '';
    var match = /filename="([^"]+)"/.exec(disposition);
    var link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = match ? match[1] : 'loa-export';
    document.body.appendChild(link);
    link.click();
    link.remove();
    say('Đã tải tệp ' + link.download + '.');
  }

  document.addEventListener('click', function (event) {
    var el = event.target.closest('[data-page], [data-post], [data-download]');
    if (!el || el.tagName === 'FORM') return;
    event.preventDefault();
    if (el.dataset.download) { downloadFile(el.dataset.download); return; }
    if (el.dataset.post) {
      if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
      el.disabled = true;
      post(el.dataset.post, {}).finally(function () { el.disabled = false; });
      return;
    }
    load(el.dataset.page, el.dataset.query || '');
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.dataset.get && !form.dataset.post) return;
    event.preventDefault();
    var fields = new FormData(form);
    if (form.dataset.get) {
      var params = new URLSearchParams();
      fields.forEach(function (value, key) { if (value) params.append(key, value); });
      load(form.dataset.get, params.toString());
      return;
    }
    var body = {};
    fields.forEach(function (value, key) { body[key] = value; });
    var button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    post(form.dataset.post, body, form.dataset.next).finally(function () {
      if (button) button.disabled = false;
    });
  });

  document.addEventListener('input', function (event) {
    var el = event.target;
    var key = el.id || 'x';
    if (el.dataset.preview || el.dataset.answerPreview) {
      clearTimeout(previewTimers[key]);
      previewTimers[key] = setTimeout(function () {
        if (el.dataset.preview) preview(el); else previewAnswer(el);
      }, 250);
    }
  });

  document.addEventListener('change', function (event) {
    if (event.target.dataset && event.target.dataset.count) updateCount(event.target);
  });

  async function start() {
    var response = await call('GET', '/api/me');
    if (response.status === 401) {
      main.innerHTML = '';
      var p = document.createElement('p');
      p.className = 'error';
      p.textContent = 'Chưa đăng nhập. Mở bảng quản trị từ Telegram (nút menu hoặc /quantri), ' +
        'hoặc dùng liên kết của lệnh “loa console-link” trên máy chủ.';
      main.appendChild(p);
      return;
    }
    var me = await readJson(response);
    document.getElementById('who').textContent = me.role_vi ? me.role_vi : '';
    if (!me.pages || !me.pages.length) {
      main.innerHTML = '<p class="error">Bạn không có quyền dùng bảng quản trị.</p>';
      return;
    }
    me.pages.forEach(function (page) {
      var b = document.createElement('button');
      b.type = 'button';
      b.dataset.page = page.key;
      b.textContent = page.title;
      nav.appendChild(b);
    });
    await load(me.pages[0].key, '');
  }

  start();
})();
