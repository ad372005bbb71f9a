// flows.js - what a person does in postern, step by step in a real browser:
// each flow works with JavaScript on and off, and checks every page it shows.
'use strict';

const crypto = require('crypto');
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');
const { assert, assertEq } = require('./lib/tap');

const MAILDIR_PY = path.join(__dirname, 'lib', 'maildir.py');

// ---- helpers ------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Clicks (or presses) and waits for the page it leads to, fully loaded; a
// new document even when the address stays the same (Inbox from the inbox).
async function nav(page, url, action) {
    await Promise.all([page.waitForEvent('load'), action()]);
    await page.waitForURL(url);
}

async function text(page, sel) {
    return (await page.locator(sel).first().innerText()).trim();
}

// What alice's Maildir holds with header NAME: VALUE (lib/maildir.py).
function serverHas(env, name, value) {
    const dir = path.join(env.mail.POSTERN_ENV_DIR, 'mail', 'alice', 'Maildir');
    const r = spawnSync('python3', [MAILDIR_PY, dir, 'header', name, value],
                        { encoding: 'utf8' });
    if (r.status !== 0)
        throw new Error(`maildir.py: ${r.stderr}`);
    return JSON.parse(r.stdout);
}

// Mail is delivered by Postfix through LMTP after the send returns: wait
// for it, a bounded number of times.
async function waitServer(env, name, value, want) {
    let got = [];
    for (let i = 0; i < 100; i++) {
        got = serverHas(env, name, value);
        if (want(got))
            return got;
        await sleep(100);
    }
    throw new Error(`the server never held the expected messages with ` +
                    `${name}: ${value}; it has ${JSON.stringify(got.map(
                        (m) => [m.folder, m.subject]))}`);
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

async function rows(page) {
    return page.locator('ul.messages li.msg').evaluateAll((lis) => lis.map((li) => ({
        from: li.querySelector('a > span:nth-child(1)').textContent.trim(),
        subject: li.querySelector('a > span:nth-child(3)').textContent.trim(),
        href: li.querySelector('a').getAttribute('href'),
        checked: li.querySelector('input[type=checkbox]').checked,
    })));
}

async function pager(page) {
    const m = /Page (\d+) of (\d+)/.exec(await text(page, 'nav.pager'));
    assert(m, 'the pager says "Page N of M"');
    return { page: Number(m[1]), pages: Number(m[2]) };
}

async function inbox(s) {
    await nav(s.page, /\/mailbox\?f=INBOX/, () =>
        s.page.locator('header nav a', { hasText: 'Inbox' }).click());
}

async function search(s, q) {
    await s.page.fill('#q', q);
    await nav(s.page, /[?&]q=/, () =>
        s.page.locator('form.search button').click());
}

// Searches the inbox for a subject and opens the first message found.
async function openBySubject(s, subject) {
    await inbox(s);
    await search(s, subject);
    const link = s.page.locator('ul.messages li.msg a', { hasText: subject }).first();
    await nav(s.page, /\/message\?/, () => link.click());
    assertEq(await text(s.page, '#msg-subject'), subject, 'message subject');
}

async function searchUntil(s, q, n) {
    for (let i = 0; i < 50; i++) {
        await inbox(s);
        await search(s, q);
        const r = await rows(s.page);
        if (r.length === n)
            return r;
        await sleep(200);
    }
    throw new Error(`searching the inbox for "${q}" never found ${n} messages`);
}

// The frame with the message body, loaded. The page carries it inside
// (srcdoc: the browser asks for no /body of its own), except when the
// message is shown with its remote content.
async function bodyFrame(page, inPage = true) {
    const el = await page.$('iframe.body');
    assert(el, 'the message page has its body frame');
    const f = await el.contentFrame();
    assert(f, 'the body frame has a document');
    if (inPage)
        assertEq(f.url(), 'about:srcdoc', 'the body frame comes with the page');
    else
        assert(/\/body\?.*remote=1/.test(f.url()),
               `the body frame is loaded from /body: ${f.url()}`);
    return f;
}

async function folderJson(s) {
    const r = await s.ctx.request.get(s.url('/folders'),
                                      { headers: { Accept: 'application/json' } });
    assertEq(r.status(), 200, '/folders JSON status');
    return (await r.json()).folders;
}

// The list's row with exactly this subject.
function row(page, subject) {
    const exact = new RegExp('^' + subject.replace(/[.*+?^$|()[\]{}\\]/g, '\\$&') + '$');
    return page.locator('ul.messages li.msg').filter({
        has: page.locator('a > span:nth-child(3)', { hasText: exact }) });
}

async function tick(page, subject) {
    await row(page, subject).locator('input[type=checkbox]').check();
}

// The same list as JSON (the dates are there, not on the page).
async function listJson(s, rel) {
    const r = await s.ctx.request.get(s.url(rel), { headers: { Accept: 'application/json' } });
    assertEq(r.status(), 200, `${rel} JSON status`);
    return (await r.json()).messages;
}

function sameList(r, json, what) {
    assertEq(JSON.stringify(r.map((x) => x.subject)),
             JSON.stringify(json.map((m) => m.subject || '(no subject)')), what);
}

// ---- the flows ----------------------------------------------------------

async function loginBadThenGood(s, env) {
    const page = s.page;
    await s.goto('/');
    await s.check('login');
    await page.fill('#user', env.mail.ALICE_USER);
    await page.fill('#password', 'not-' + env.mail.ALICE_PASS);
    await nav(page, /\/login$/, () => page.locator('form[action$="login"] button').click());
    assert(/login failed/i.test(await text(page, '.error[role=alert]')),
           'a wrong password says "login failed"');
    assertEq(await page.inputValue('#user'), env.mail.ALICE_USER,
             'the user name is kept');
    await s.check('login-failed', { status: 401 });
    await page.fill('#password', env.mail.ALICE_PASS);
    await nav(page, /\/mailbox\?f=INBOX/, () =>
        page.locator('form[action$="login"] button').click());
    assert((await text(page, 'main h1')).startsWith('INBOX'), 'the inbox shows');
    assertEq((await rows(page)).length, 50, 'messages on the first page');
    await s.check('inbox');
}

async function folderTree(s, env) {
    const page = s.page;
    await nav(page, /\/folders$/, () =>
        page.locator('header nav a', { hasText: 'Folders' }).click());
    const json = await folderJson(s);
    for (const p of env.mail.SEED_FOLDERS.split(',')) {
        const li = page.locator('ul.folders li', {
            has: page.locator(`a[href="/mailbox?f=${encodeURIComponent(p)}"]`) });
        assertEq(await li.count(), 1, `folder ${p} listed`);
        const depth = p.split(env.mail.IMAP_SEPARATOR).length - 1;
        assert((await li.getAttribute('class')).split(' ').includes(`depth-${depth}`),
               `folder ${p} indented to depth ${depth}`);
        const j = json.find((f) => f.path === p);
        const count = li.locator('.count');
        assertEq(await count.count() ? Number(await count.innerText()) : 0,
                 j.unread, `unread count of ${p}`);
    }
    await s.check('folders');
    const nonascii = env.mail.SEED_FOLDER_NONASCII;
    await nav(page, /\/mailbox\?f=Re/, () =>
        page.locator('ul.folders a', { hasText: nonascii }).click());
    assert((await text(page, 'main h1')).startsWith(nonascii), 'the folder opens');
    assertEq((await rows(page)).length, Number(env.mail.SEED_NONASCII_COUNT),
             `messages in ${nonascii}`);
    await s.check('folder-nonascii');
}

async function paging(s) {
    const page = s.page;
    await inbox(s);
    const p1 = await pager(page);
    const total = Number(await text(page, 'main h1 .total'));
    assertEq(p1.page, 1, 'first page');
    assertEq(p1.pages, Math.ceil(total / 50), 'pages for the total');
    const first = await rows(page);
    await nav(page, /page=2/, () => page.locator('nav.pager a[rel=next]').click());
    const second = await rows(page);
    assertEq((await pager(page)).page, 2, 'second page');
    assertEq(second.length, 50, 'messages on page 2');
    assert(!second.some((r) => first.some((q) => q.href === r.href)),
           'page 2 shows other messages than page 1');
    const j1 = await listJson(s, '/mailbox?f=INBOX&page=1');
    const j2 = await listJson(s, '/mailbox?f=INBOX&page=2');
    sameList(first, j1, 'page 1 shows the messages of the JSON page 1');
    sameList(second, j2, 'page 2 shows the messages of the JSON page 2');
    assert(j2[0].date <= j1[j1.length - 1].date, 'page 2 is older than page 1');
    await s.check('inbox-page2');
    await nav(page, /page=1/, () => page.locator('nav.pager a[rel=prev]').click());
    assertEq((await rows(page))[0].href, first[0].href, 'back on page 1');
}

async function sort(s, env) {
    const page = s.page;
    await inbox(s);
    await page.selectOption('#sort', 'date-asc');
    await nav(page, /sort=date-asc/, () => page.locator('form.sort button').click());
    const r = await rows(page);
    const j = await listJson(s, '/mailbox?f=INBOX&sort=date-asc');
    sameList(r, j, 'the page shows the sorted list');
    const dates = j.map((x) => x.date);
    assertEq(JSON.stringify(dates), JSON.stringify([...dates].sort()),
             'dates ascending');
    const oldest = env.seed.filter((m) => m.user === 'alice' &&
                                       m.folder === 'INBOX')
        .sort((a, b) => Date.parse(a.date) - Date.parse(b.date))[0];
    assertEq(r[0].subject, oldest.subject, 'the oldest message comes first');
    assertEq(await page.inputValue('#sort'), 'date-asc', 'the sort is shown');
    await s.check('sorted-oldest');
    await nav(page, /page=2/, () => page.locator('nav.pager a[rel=next]').click());
    assert(page.url().includes('sort=date-asc'), 'paging keeps the sort');
    const j2 = await listJson(s, '/mailbox?f=INBOX&sort=date-asc&page=2');
    sameList(await rows(page), j2, 'page 2 of the sorted list');
    assert(j2[0].date >= dates[dates.length - 1], 'page 2 goes on where page 1 ended');
}

async function searchFlow(s) {
    const page = s.page;
    await inbox(s);
    await search(s, 'Lunch on Thursday');
    const r = await rows(page);
    assert(r.length >= 1 && r.every((x) => /Lunch on Thursday/.test(x.subject)),
           `search finds the message: ${JSON.stringify(r.map((x) => x.subject))}`);
    assertEq(await page.inputValue('#q'), 'Lunch on Thursday', 'the query stays');
    await s.check('search');
    await search(s, 'zqxj-nothing-matches');
    assertEq(await text(page, 'p.empty'), 'No messages match.', 'empty search');
    await s.check('search-empty');
}

async function htmlMessage(s) {
    const page = s.page;
    await openBySubject(s, 'Your June newsletter');
    const notice = page.locator('p.notice', { hasText: 'blocked' });
    assertEq(await notice.count(), 1, 'the page says remote content is blocked');
    const srcs = await (await bodyFrame(page)).evaluate(() =>
        [...document.images].map((i) => i.getAttribute('src') || ''));
    assert(!srcs.some((x) => /^https?:/.test(x)),
           `no remote image in the frame: ${srcs}`);
    await s.check('html-blocked');   // and nothing left the origin
    await nav(page, /remote=1/, () =>
        notice.locator('a', { hasText: 'Show remote content' }).click());
    const imgs = await (await bodyFrame(page, false)).evaluate(() =>
        [...document.images].map((i) => ({ src: i.src, w: i.naturalWidth,
                                           done: i.complete })));
    const banner = imgs.find((i) => i.src === 'http://images.shop.example/banner-june.png');
    assert(banner && banner.done && banner.w > 0,
           `the remote image is shown: ${JSON.stringify(imgs)}`);
    const left = await s.check('html-remote', { outside: true });
    assert(left.includes(banner.src), `the browser asked for ${banner.src}`);
}

async function plainMessage(s, env) {
    const page = s.page;
    await openBySubject(s, 'Lunch on Thursday?');
    const [seed] = serverHas(env, 'X-Postern-Seed', 'core-plain-ascii');
    const line = seed.text.split('\n').find((l) => l.trim().length > 10).trim();
    const shown = await (await bodyFrame(page)).evaluate(() => document.body.innerText);
    assert(shown.includes(line), `the frame shows "${line}"`);
    assert((await text(page, 'dl.hdrs')).includes(seed.from.replace(/ <.*/, '')),
           'the sender is shown');
    await s.check('plain');
}

async function download(s, page, name) {
    const link = page.locator('section.attachments a', { hasText: name });
    const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assertEq(dl.suggestedFilename(), name, 'downloaded file name');
    return fs.readFileSync(await dl.path());
}

async function attachment(s, env) {
    const page = s.page;
    await openBySubject(s, 'Screenshot of the bug');
    const [seed] = serverHas(env, 'X-Postern-Seed', 'core-png-attachment');
    const want = seed.attachments[0];
    const got = await download(s, page, want.filename);
    assertEq(got.length, want.size, 'downloaded size');
    assertEq(sha256(got), want.sha256, 'downloaded bytes');
    await s.check('attachment');
}

// Bytes of every value, so a text/binary mix-up shows.
function attachmentBytes() {
    const b = Buffer.alloc(3000);
    for (let i = 0; i < b.length; i++)
        b[i] = (i * 7 + (i >> 8)) & 0xff;
    return b;
}

async function composeAndSend(s, env, st) {
    const page = s.page;
    st.subject = `e2e ${s.profile.name} ${st.token}`;
    st.bytes = attachmentBytes();
    await nav(page, /\/compose$/, () =>
        page.locator('header nav a', { hasText: 'Write' }).click());
    await s.check('compose');
    await page.fill('#to', env.mail.ALICE_EMAIL);
    await page.fill('#subject', st.subject);
    await page.fill('#text', 'Hello from the browser test.\nSecond line.');
    await page.setInputFiles('#files', { name: 'e2e-data.bin',
                                         mimeType: 'application/octet-stream',
                                         buffer: st.bytes });
    await nav(page, /\/mailbox\?f=INBOX&sent=1/, () =>
        page.locator('form button', { hasText: 'Send' }).click());
    assertEq(await text(page, 'p.notice[role=status]'), 'Message sent.',
             'the inbox says the message went');
    await s.check('sent');
    // what the server holds: in INBOX (delivered) and in Sent (saved)
    const got = await waitServer(env, 'Subject', st.subject, (m) =>
        m.some((x) => x.folder === 'INBOX') && m.some((x) => x.folder === 'Sent'));
    for (const m of got) {
        assertEq(m.attachments.length, 1, `attachments in ${m.folder}`);
        assertEq(m.attachments[0].sha256, sha256(st.bytes),
                 `attachment bytes in ${m.folder}`);
    }
    st.messageId = got.find((x) => x.folder === 'INBOX').message_id;
    // and what postern shows of it
    await searchUntil(s, st.token, 1);
    await openBySubject(s, st.subject);
    assertEq(sha256(await download(s, page, 'e2e-data.bin')), sha256(st.bytes),
             'the attachment comes back byte for byte');
    await s.check('sent-arrived');
}

async function reply(s, env, st) {
    const page = s.page;
    await openBySubject(s, st.subject);
    await nav(page, /mode=reply/, () => page.locator('#reply').click());
    assert((await page.inputValue('#to')).includes(env.mail.ALICE_EMAIL),
           'the reply goes to the sender');
    assertEq(await page.inputValue('#subject'), `Re: ${st.subject}`, 'reply subject');
    const quoted = await page.inputValue('#text');
    assert(/^> Hello from the browser test\./m.test(quoted),
           `the original is quoted: ${JSON.stringify(quoted.slice(0, 200))}`);
    await s.check('reply-form');
    await page.fill('#text', `Thanks, got it.\n\n${quoted}`);
    await nav(page, /sent=1/, () => page.locator('form button', { hasText: 'Send' }).click());
    const got = await waitServer(env, 'Subject', `Re: ${st.subject}`, (m) =>
        m.some((x) => x.folder === 'INBOX'));
    assertEq(got.find((x) => x.folder === 'INBOX').in_reply_to, st.messageId,
             'In-Reply-To names the original');
    const r = await searchUntil(s, st.token, 2);
    assert(r.some((x) => x.subject === `Re: ${st.subject}`), 'the reply is listed');
    await s.check('reply-arrived');
}

async function move(s, env, st) {
    const page = s.page;
    await inbox(s);
    await search(s, st.token);
    await tick(page, st.subject);      // the original, not "Re: …"
    await page.selectOption('.actionbar select', 'Archive');
    await nav(page, /\/mailbox\?f=INBOX/, () =>
        page.locator('.actionbar button[value=move]').click());
    const left = await rows(page);
    assertEq(JSON.stringify(left.map((x) => x.subject)),
             JSON.stringify([`Re: ${st.subject}`]), 'left in the inbox search');
    await s.check('moved');
    const held = serverHas(env, 'Subject', st.subject);
    assertEq(JSON.stringify(held.map((m) => m.folder).sort()),
             JSON.stringify(['Archive', 'Sent']), 'folders holding the original');
}

async function del(s, env, st) {
    const page = s.page;
    await inbox(s);
    await search(s, st.token);
    await tick(page, `Re: ${st.subject}`);
    await nav(page, /\/mailbox\?f=INBOX/, () =>
        page.locator('.actionbar button[value=delete]').click());
    assertEq(await text(page, 'p.empty'), 'No messages match.', 'the reply is gone');
    await s.check('deleted');
    const held = serverHas(env, 'Subject', `Re: ${st.subject}`);
    assertEq(JSON.stringify(held.map((m) => m.folder).sort()),
             JSON.stringify(['Sent', 'Trash']), 'folders holding the reply');
}

// On the message page itself: flag it (the page stays, and says so), then
// move it on with "Move to…". The original, which "move" put in Archive.
async function messageTools(s, env, st) {
    const page = s.page;
    await s.goto('/mailbox?f=Archive');
    await search(s, st.token);
    await nav(page, /\/message\?/, () =>
        page.locator('ul.messages li.msg a', { hasText: st.subject }).first().click());
    assertEq(await text(page, '#flag'), 'Flag', 'an unflagged message offers Flag');
    await nav(page, /\/message\?f=Archive&/, () => page.locator('#flag').click());
    assertEq(await text(page, '#msg-subject'), st.subject, 'back on the same message');
    assertEq(await text(page, '#flag'), 'Unflag', 'the page says it is flagged');
    await s.check('message-flagged');
    const targets = await page.locator('#move-to option').evaluateAll(
        (os) => os.map((o) => o.value));
    assert(targets.includes('Junk') && !targets.includes('Archive'),
           `"Move to" lists the other folders: ${targets}`);
    await page.selectOption('#move-to', 'Junk');
    await nav(page, /\/mailbox\?f=Archive/, () => page.locator('#move').click());
    const held = serverHas(env, 'Subject', st.subject);
    assertEq(JSON.stringify(held.map((m) => m.folder).sort()),
             JSON.stringify(['Junk', 'Sent']), 'folders holding the original');
}

async function selectAll(s) {
    const page = s.page;
    await inbox(s);
    const toggle = page.locator('#select-all');
    const wait = s.profile.js ? (fn) => fn() : (fn) => nav(page, /mailbox/, fn);
    await wait(() => toggle.click());
    let r = await rows(page);
    assert(r.length === 50 && r.every((x) => x.checked), 'every message is ticked');
    await s.check('select-all');
    await wait(() => toggle.click());
    r = await rows(page);
    assert(r.every((x) => !x.checked), 'no message is ticked');
}

// Landmarks, labels, and the order a keyboard user goes through the page.
async function a11y(s) {
    const page = s.page;
    await inbox(s);
    const facts = await page.evaluate(() => {
        const unlabeled = [];
        for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
            if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') &&
                !el.getAttribute('aria-labelledby'))
                unlabeled.push(el.outerHTML.slice(0, 80));
        }
        return {
            unlabeled,
            banner: document.querySelectorAll('body > header').length,
            main: document.querySelectorAll('main').length,
            navs: [...document.querySelectorAll('nav')].map((n) => n.getAttribute('aria-label')),
            search: document.querySelectorAll('[role=search]').length,
            positiveTabindex: [...document.querySelectorAll('[tabindex]')]
                .filter((e) => e.tabIndex > 0).length,
            lang: document.documentElement.lang,
            title: document.title,
        };
    });
    assertEq(facts.unlabeled.length, 0, `controls without a label ${facts.unlabeled}`);
    assertEq(facts.banner, 1, 'one banner (header)');
    assertEq(facts.main, 1, 'one main');
    assert(facts.navs.includes('Main') && facts.navs.includes('Pages'),
           `named navigation landmarks: ${facts.navs}`);
    assertEq(facts.search, 1, 'a search landmark');
    assertEq(facts.positiveTabindex, 0, 'no positive tabindex');
    assertEq(facts.lang, 'en', 'the page says its language');
    assert(/INBOX/.test(facts.title), 'the title names the folder');
    // Tab from the top: the skip link first, then the header in page order.
    await page.reload();
    const seen = [];
    for (let i = 0; i < 6; i++) {
        await page.keyboard.press('Tab');
        seen.push(await page.evaluate(() => {
            const e = document.activeElement;
            // the first words: the inbox link also holds the badge
            return (e.firstChild ? e.firstChild.textContent : e.value || '').trim();
        }));
    }
    assertEq(JSON.stringify(seen), JSON.stringify(
        ['Skip to content', 'postern', 'Inbox', 'Write', 'Folders', 'Log out']),
             'focus order from the top');
    // the skip link leads to the main content: the next stop is the search
    await page.reload();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assertEq(await page.evaluate(() => document.activeElement.id), 'q',
             'after "skip to content" the search field comes next');
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert(ring !== 'none', 'the focused control shows a focus ring');
    await s.check('focus');
}

function luminance(rgb) {
    const [r, g, b] = rgb.match(/\d+/g).slice(0, 3).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

async function darkMode(s) {
    const page = s.page;
    await inbox(s);
    const colors = () => page.evaluate(() => {
        const st = getComputedStyle(document.body);
        return { bg: st.backgroundColor, fg: st.color };
    });
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await colors();
    assert(luminance(dark.bg) < 0.25 && luminance(dark.fg) > 0.75,
           `dark scheme: ${JSON.stringify(dark)}`);
    await s.check('inbox-dark');
    await openBySubject(s, 'Lunch on Thursday?');
    await s.check('message-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await colors();
    assert(luminance(light.bg) > 0.75 && luminance(light.fg) < 0.25,
           `light scheme: ${JSON.stringify(light)}`);
}

// On a phone the list and the message use the whole width.
async function phoneLayout(s) {
    const page = s.page;
    await inbox(s);
    const w = (sel) => page.evaluate((q) => ({
        w: document.querySelector(q).getBoundingClientRect().width,
        vw: window.innerWidth }), sel);
    const list = await w('ul.messages');
    assert(list.w >= list.vw - 34, `the list is full width: ${JSON.stringify(list)}`);
    // The actions wait at the screen's foot until a message is chosen, and
    // choosing one moves nothing in the list.
    const bar = page.locator('.actionbar');
    assert(!(await bar.isVisible()), 'no action bar before a message is chosen');
    const second = page.locator('ul.messages li:nth-child(2)');
    const before = (await second.boundingBox()).y;
    const box = page.locator('ul.messages li:first-child input[type=checkbox]');
    await box.check();
    assert(await bar.isVisible(), 'the action bar shows once a message is chosen');
    const at = await bar.evaluate((e) => ({
        bottom: e.getBoundingClientRect().bottom, vh: window.innerHeight }));
    assert(Math.abs(at.bottom - at.vh) < 1, `the bar sits at the foot: ${JSON.stringify(at)}`);
    assertEq((await second.boundingBox()).y, before, 'the second row did not move');
    await s.check('phone-chosen');
    await box.uncheck();
    await openBySubject(s, 'Lunch on Thursday?');
    const body = await w('iframe.body');
    assert(body.w >= body.vw - 34, `the message is full width: ${JSON.stringify(body)}`);
    await s.check('phone-message');
}

// ---- with JavaScript only ----------------------------------------------

async function newMailBadge(s, env, st) {
    // a browser of its own, in the same session: its clock is the test's
    const other = await s.sibling('badge');
    try {
        const page = other.page;
        const polls = [];
        page.on('request', (r) => /\/folders$/.test(r.url()) && polls.push(r));
        await page.clock.install();
        await other.goto('/mailbox?f=INBOX');
        const total = async () => (await folderJson(s)).find((f) => f.role === 'inbox').total;
        const shown = () => page.evaluate(() => {
            const b = document.getElementById('newmail');
            return b.hidden ? 0 : Number(b.firstChild.textContent);
        });
        const before = await total();
        assertEq(Number(await text(page, 'main h1 .total')), before, 'inbox total');
        assertEq(polls.length, 0, 'the inbox page starts from its own count');
        st.badgeSubject = `badge ${s.profile.name} ${st.token}`;
        await env.smtpDeliver('news@example.org', env.mail.ALICE_EMAIL,
                              st.badgeSubject, 'You have new mail.');
        for (let i = 0; i < 100 && await total() === before; i++)
            await sleep(100);
        assertEq(await total(), before + 1, 'the server has the new message');
        assertEq(await shown(), 0, 'no badge before the next poll');
        await Promise.all([page.waitForResponse(/\/folders$/),
                           page.clock.runFor(61000)]);
        for (let i = 0; i < 50 && await shown() !== 1; i++)
            await sleep(100);
        assertEq(await shown(), 1, 'the badge counts the new message');
        assert(/\/mailbox\?f=INBOX$/.test(page.url()), 'without a reload');
        assertEq(await page.locator('#newmail').getAttribute('aria-live'),
                 'polite', 'screen readers hear of it');
        assertEq(polls.length, 1, 'one poll a minute');
        await other.check('badge');
    } finally {
        await other.close();
    }
}

async function keyboard(s, env, st) {
    const page = s.page;
    const kb = page.keyboard;
    const current = () => page.evaluate(() => {
        const all = [...document.querySelectorAll('ul.messages li.msg')];
        const i = all.findIndex((li) => li.classList.contains('current'));
        return { i, focused: i >= 0 && all[i].contains(document.activeElement) };
    });
    await inbox(s);
    await kb.press('j');
    assertEq(JSON.stringify(await current()), '{"i":0,"focused":true}', 'j: first');
    await kb.press('j');
    await kb.press('j');
    await kb.press('k');
    assertEq((await current()).i, 1, 'j j j k: second');
    await s.check('keys-current');
    await kb.press('/');
    assertEq(await page.evaluate(() => document.activeElement.id), 'q', '/: search');
    await kb.type('jk');
    assertEq(await page.inputValue('#q'), 'jk', 'keys in the search field are text');
    assertEq((await current()).i, 1, '... and move nothing');
    await kb.press('Escape');
    await kb.press('?');
    assert(await page.locator('#keys-help').isVisible(), '?: the help shows');
    await s.check('keys-help');
    await kb.press('Escape');
    assert(!(await page.locator('#keys-help').isVisible()), 'Escape hides it');
    const row = (await rows(page))[1];
    await nav(page, /\/message\?/, () => kb.press('o'));
    assert(page.url().endsWith(row.href), 'o opens the current message');
    for (const [key, mode] of [['r', 'reply'], ['a', 'all'], ['f', 'forward']]) {
        await nav(page, new RegExp(`mode=${mode}`), () => kb.press(key));
        assert(await page.locator('#to').count(), `${key}: the compose form`);
        await nav(page, /\/message\?/, () => page.goBack());
    }
    await inbox(s);
    const listed = await rows(page);
    await kb.press('j');
    await nav(page, /\/message\?/, () => kb.press('Enter'));
    // on a message, j and k go through the list it was opened from
    await nav(page, /\/message\?/, () => kb.press('j'));
    assert(page.url().endsWith(listed[1].href), `j: the next message ${page.url()}`);
    await nav(page, /\/message\?/, () => kb.press('k'));
    assert(page.url().endsWith(listed[0].href), `k: the previous one ${page.url()}`);
    // # deletes: on a message (the one the badge test brought) ...
    await openBySubject(s, st.badgeSubject);
    await nav(page, /\/mailbox\?f=INBOX/, () => kb.press('#'));
    await waitServer(env, 'Subject', st.badgeSubject,
                     (m) => m.length === 1 && m[0].folder === 'Trash');
    // ... and in a list, the current one
    const subject = `keys ${s.profile.name} ${st.token}`;
    await env.smtpDeliver('news@example.org', env.mail.ALICE_EMAIL, subject,
                          'Delete me with #.');
    await searchUntil(s, subject, 1);
    await kb.press('j');
    await nav(page, /\/mailbox\?f=INBOX/, () => kb.press('#'));
    assertEq(await text(page, 'p.empty'), 'No messages match.', '#: deleted');
    await s.check('keys-deleted');
    await waitServer(env, 'Subject', subject,
                     (m) => m.length === 1 && m[0].folder === 'Trash');
}

// The pages no flow above needs: all headers, forward, an error, a question.
async function otherPages(s) {
    const page = s.page;
    await openBySubject(s, 'Lunch on Thursday?');
    await nav(page, /headers=all/, () => page.locator('.msgtools a', { hasText: 'All headers' }).click());
    assert(await page.locator('details.allhdrs dt', { hasText: 'Message-ID' }).count(),
           'all headers are listed');
    await s.check('all-headers');
    await nav(page, /mode=forward/, () => page.locator('#forward').click());
    assertEq(await page.inputValue('#subject'), 'Fwd: Lunch on Thursday?', 'forward subject');
    await s.check('forward-form');
    const r = await s.goto('/message?f=INBOX&uid=4000000');
    assertEq(r.status(), 404, 'no such message');
    assert(await page.locator('main a', { hasText: 'Back to postern' }).count(),
           'the error page leads back');
    await s.check('error-404', { status: 404 });
    // deleting in Trash deletes for good: postern asks first
    await s.goto('/mailbox?f=Trash');
    await page.locator('ul.messages input[type=checkbox]').first().check();
    await nav(page, /\/action$/, () => page.locator('.actionbar button[value=delete]').click());
    assert(await page.locator('main button', { hasText: 'Yes, delete' }).count(),
           'postern asks before deleting for good');
    await s.check('confirm');
    await nav(page, /\/mailbox\?f=INBOX/, () => page.locator('main a', { hasText: 'No, go back' }).click());
}

async function logout(s) {
    const page = s.page;
    await nav(page, /\/$/, () => page.locator('header button', { hasText: 'Log out' }).click());
    assertEq(await page.locator('#password').count(), 1, 'the login form again');
    await s.check('logged-out');
    await s.goto('/mailbox?f=INBOX');
    assertEq(new URL(page.url()).pathname, '/', 'the session is over');
    assertEq(await page.locator('#password').count(), 1, 'asked to log in');
}

// The flows in the order a person might, each a test of its own.
const FLOWS = [
    ['bad login, then good login', loginBadThenGood],
    ['folder tree', folderTree],
    ['paging', paging],
    ['sort', sort],
    ['search', searchFlow],
    ['HTML message, remote content blocked then shown', htmlMessage],
    ['plain message', plainMessage],
    ['attachment download', attachment],
    ['compose and send with an attachment; it arrives', composeAndSend],
    ['reply', reply],
    ['move', move],
    ['delete', del],
    ['flag and move from the message page', messageTools],
    ['select all', selectAll],
    ['keyboard focus order, labels, landmarks', a11y],
    ['dark mode follows the system', darkMode],
    ['phone: list and message full width', phoneLayout, { phone: true }],
    ['all headers, forward, an error page, a confirmation', otherPages],
    ['new-mail badge without a reload', newMailBadge, { js: true }],
    ['keyboard shortcuts', keyboard, { js: true }],
    ['logout', logout],
];

module.exports = { FLOWS };

// ---- page weight ----------------------------------------------------------

const WEIGHT_LIMIT = 30 * 1024;

// Everything a browser downloads from the login form to the inbox, bodies
// uncompressed (as if gzip were off): at most WEIGHT_LIMIT bytes.
async function pageWeight(s, env) {
    const page = s.page;
    const got = [];
    page.on('requestfinished', (req) => got.push((async () => {
        const z = await req.sizes();
        const resp = await req.response();
        // from the cache nothing came (chromium then says less than 0);
        // else the body as the page got it, gzip undone
        const cached = z.responseBodySize <= 0;
        const redirect = resp.status() >= 300 && resp.status() < 400;
        const body = cached || redirect ? 0 : (await resp.body()).length;
        return { url: req.url(), body, wire: Math.max(0, z.responseBodySize),
                 headers: z.responseHeadersSize };
    })()));
    await s.goto('/');
    await page.fill('#user', env.mail.ALICE_USER);
    await page.fill('#password', env.mail.ALICE_PASS);
    await nav(page, /\/mailbox\?f=INBOX/, () =>
        page.locator('form[action$="login"] button').click());
    await page.waitForLoadState('networkidle');
    const all = await Promise.all(got);
    const total = all.reduce((n, r) => n + r.body, 0);
    const lines = all.map((r) => `${String(r.body).padStart(6)} ` +
                          `(${r.wire} on the wire +${r.headers} header) ` +
                          `${r.url.replace(s.origin, '')}`);
    await s.check('weight-inbox');   // nothing left the origin, no errors
    assert(all.every((r) => r.url.startsWith(s.origin + '/')),
           `requests outside postern's origin:\n${lines.join('\n')}`);
    assert(all.length >= 4, `the login and inbox requests were seen:\n${lines.join('\n')}`);
    if (total > WEIGHT_LIMIT)
        throw new Error(`login -> inbox downloads ${total} bytes, more than ` +
                        `${WEIGHT_LIMIT}:\n${lines.join('\n')}`);
    return `${total} bytes in ${all.length} responses:\n${lines.join('\n')}`;
}

module.exports.pageWeight = pageWeight;

// postern.js stays an enhancement: small, deferred, the only script.
async function scriptBudget(env) {
    const login = await (await fetch(`${env.origin}/`)).text();
    const src = (/<script src="([^"]+)" defer><\/script>/.exec(login) || [])[1];
    assert(src, 'the page loads its script with defer');
    // fetch() undoes any gzip: the size is the script's own
    const js = Buffer.from(await (await fetch(env.origin + src)).arrayBuffer());
    assert(js.length <= 10 * 1024, `postern.js is ${js.length} bytes, more than 10 KB`);
    const dir = path.join(__dirname, '..', '..', 'templates');
    const tags = [];
    for (const f of fs.readdirSync(dir))
        for (const m of fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/<script[^>]*>/g))
            tags.push(`${f}: ${m[0]}`);
    assertEq(JSON.stringify(tags), JSON.stringify(
        ['header.mustache: <script src="{{static}}postern.js" defer>']),
             'the one script tag of the templates');
    return `postern.js: ${js.length} bytes`;
}

module.exports.scriptBudget = scriptBudget;
