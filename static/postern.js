/* postern.js - progressive enhancement, loaded with defer: keyboard
   shortcuts, select all, a new-mail badge. Every page works without it. */
(function () {
  'use strict';
  var d = document, cur = -1, help;
  function $(s, r) { return (r || d).querySelector(s); }
  function $$(s) { return [].slice.call(d.querySelectorAll(s)); }
  var base = $('a.brand').getAttribute('href');
  var rows = $$('ul.messages li.msg');
  function link() { return $('a', rows[cur]); }
  function boxes() { return $$('ul.messages input'); }
  function go(url) { location.href = url; }

  function mark(i) {
    if (cur >= 0) rows[cur].classList.remove('current');
    rows[cur = i].classList.add('current');
  }
  /* a row reached with Tab or a click is the current one too */
  rows.forEach(function (li, i) {
    li.addEventListener('focusin', function () { mark(i); });
  });

  /* r a f: a message's own links; in a list, the current message's
     compose page (it takes the same f and uid as /message) */
  function compose(id, mode) {
    var a = $('#' + id);
    if (a) go(a.href);
    else if (cur >= 0)
      go(link().href.replace('/message?', '/compose?') + '&mode=' + mode);
  }
  function del() {
    var b = $('#delete');
    if (!b && !boxes().some(function (x) { return x.checked; })) {
      if (cur < 0) return;
      $('input', rows[cur]).checked = true;
    }
    (b || $('.actionbar button[value=delete]')).click();
  }
  function showHelp(show) {
    if (!help) {
      help = d.createElement('div');
      help.id = 'keys-help';
      help.setAttribute('role', 'dialog');
      help.setAttribute('aria-label', 'Keyboard shortcuts');
      help.tabIndex = -1;
      help.innerHTML = '<h2>Keyboard shortcuts</h2><dl><dt>j k<dd>next, ' +
        'previous message<dt>o Enter<dd>open it<dt>r<dd>reply<dt>a<dd>reply' +
        ' to all<dt>f<dd>forward<dt>#<dd>delete<dt>/<dd>search<dt>?<dd>this' +
        ' help<dt>Esc<dd>close it, leave a field</dl>';
      d.body.appendChild(help);
    }
    help.hidden = !show;
    if (show) help.focus();
  }

  d.addEventListener('keydown', function (e) {
    var t = e.target, k = e.key, q;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (k === 'Escape') {
      if (help && !help.hidden) showHelp(false);
      else t.blur();
      return;
    }
    if (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))
      return;
    if ((k === 'j' || k === 'k') && rows.length) {
      mark(Math.max(0, Math.min(rows.length - 1, cur + (k === 'j' ? 1 : -1))));
      link().focus();
    } else if ((k === 'j' || k === 'k') &&
               (q = $(k === 'j' ? '#next-msg' : '#prev-msg'))) {
      go(q.href); /* on a message page: the next or previous message */
    } else if (k === 'o' || k === 'Enter') {
      /* Enter on a link or a button does its own thing */
      if (cur < 0 || (k === 'Enter' && /^(A|BUTTON|SUMMARY)$/.test(t.tagName)))
        return;
      go(link().href);
    } else if (k === 'r') compose('reply', 'reply');
    else if (k === 'a') compose('reply-all', 'all');
    else if (k === 'f') compose('forward', 'forward');
    else if (k === '#') del();
    else if (k === '/' && (q = $('#q'))) q.select();
    else if (k === '?') showHelp(!help || help.hidden);
    else return;
    e.preventDefault();
  });

  /* select all; without JavaScript the link reloads the page ticked */
  var all = $('#select-all');
  if (all) {
    all.setAttribute('role', 'button');
    all.addEventListener('click', function (e) {
      var on = !boxes().every(function (x) { return x.checked; });
      e.preventDefault();
      boxes().forEach(function (x) { x.checked = on; });
      all.textContent = on ? 'Select none' : 'Select all';
    });
  }

  /* the badge: mail new in the inbox since this page came, from the JSON
     API every minute while the page is seen; the inbox list has the count
     to start from, other pages ask at once */
  var badge = $('#newmail'), from = null, h = $('.listhead .total');
  var q = $('#q');
  if (h && $('input[name=f]').value === 'INBOX' && !(q && q.value))
    from = +h.textContent;
  function poll() {
    if (d.hidden) return;
    fetch(base + 'folders', { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        j.folders.forEach(function (f) {
          if (f.role !== 'inbox') return;
          if (from === null) from = f.total;
          badge.innerHTML = (f.total - from) + '<span class="sr"> new</span>';
          badge.hidden = f.total <= from;
        });
      })
      .catch(function () { /* offline, logged out: the badge stays */ });
  }
  if (badge) {
    if (from === null) poll();
    setInterval(poll, 60000);
  }
})();
