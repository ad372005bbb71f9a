// browser.js - one Debian chromium per profile (desktop or phone, JavaScript
// on or off) with a fresh profile dir; watches every page for console errors,
// CSP violations and requests leaving postern's origin; layout checks; shots.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.POSTERN_E2E_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
               '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync'];
const MOBILE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) ' +
    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36';
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');

const VIEWPORTS = {
    desktop: { viewport: { width: 1280, height: 800 } },
    phone: { viewport: { width: 390, height: 844 }, isMobile: true,
             hasTouch: true, deviceScaleFactor: 2, userAgent: MOBILE_UA },
};

// desktop-js, desktop-nojs, phone-js, phone-nojs
const PROFILES = [];
for (const size of ['desktop', 'phone'])
    for (const js of [true, false])
        PROFILES.push({ name: `${size}-${js ? 'js' : 'nojs'}`, size, js,
                        phone: size === 'phone' });

// 1x1 transparent PNG: what "the internet" answers for a remote image.
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAA' +
                          'DUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
                          'base64');

class Session {
    // intercept: answer requests for other origins here (a remote image
    // must show); off, the browser caches as it would (page weight).
    constructor(profile, origin, { intercept = true } = {}) {
        this.profile = profile;
        this.intercept = intercept;
        this.origin = origin;
        this.problems = [];  // console errors, page errors, CSP violations
        this.outside = [];   // requests that left the origin (answered here)
        this.shots = 0;
        this.dir = path.join(ARTIFACTS, profile.name);
    }

    async open() {
        fs.rmSync(this.dir, { recursive: true, force: true });
        fs.mkdirSync(this.dir, { recursive: true });
        this.userDataDir = fs.mkdtempSync(path.join(os.tmpdir(),
                                                    'postern-e2e-'));
        this.ctx = await chromium.launchPersistentContext(this.userDataDir, {
            executablePath: CHROMIUM, headless: true, args: FLAGS,
            javaScriptEnabled: this.profile.js, acceptDownloads: true,
            colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC',
            ...VIEWPORTS[this.profile.size],
        });
        this.ctx.setDefaultTimeout(10000);
        await this.watch(this.ctx);
        this.page = this.ctx.pages()[0] || await this.ctx.newPage();
        this.watchPage(this.page);
        this.ctx.on('page', (p) => this.watchPage(p));
    }

    async watch(ctx) {
        // Nothing may reach the network: a request for another origin is
        // recorded and answered here (a pixel), never sent.
        if (!this.intercept) {
            ctx.on('request', (r) => {
                if (!r.url().startsWith(this.origin + '/') && !r.url().startsWith('data:'))
                    this.outside.push(r.url());
            });
        }
        if (this.intercept) await ctx.route((url) => url.origin !== this.origin &&
                        url.protocol !== 'data:', (route) => {
            this.outside.push(route.request().url());
            return route.fulfill({ status: 200, contentType: 'image/png',
                                   body: PIXEL });
        });
        // With JavaScript on, the DOM event too (the console line below
        // catches violations with JavaScript off).
        await ctx.exposeBinding('__posternCspViolation', (src, text) => {
            this.problems.push(`CSP violation: ${text}`);
        });
        await ctx.addInitScript(() => {
            document.addEventListener('securitypolicyviolation', (e) => {
                window.__posternCspViolation(`${e.violatedDirective} ` +
                                             `${e.blockedURI} at ${e.documentURI}`);
            }, true);
        });
    }

    watchPage(page) {
        page.on('console', (m) => {
            const text = m.text();
            if (m.type() === 'error' || /Content Security Policy/i.test(text))
                this.problems.push(`console ${m.type()}: ${text} ` +
                                   `(${m.location().url})`);
        });
        page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    }

    // Another browser in the same postern session (cookies copied).
    async sibling(suffix) {
        const o = new Session({ ...this.profile,
                                name: `${this.profile.name}-${suffix}` }, this.origin);
        await o.open();
        await o.ctx.addCookies(await this.ctx.cookies());
        return o;
    }

    async close() {
        if (this.ctx)
            await this.ctx.close();
        if (this.userDataDir)
            fs.rmSync(this.userDataDir, { recursive: true, force: true });
    }

    url(rel) {
        return this.origin + rel;
    }

    async goto(rel) {
        const r = await this.page.goto(this.url(rel));
        return r;
    }

    // After every page a flow shows: no problems since the last check, no
    // horizontal scrolling, tap targets of 44 px on the phone; a screenshot.
    // status: the page's own HTTP status when it is meant to be an error
    // (a failed login is a 401); chromium logs those as console errors.
    async check(label, { outside = false, page = this.page, status = 0 } = {}) {
        await page.waitForLoadState('load');
        const layout = await page.evaluate(layoutProbe, this.profile.phone);
        const expected = `Failed to load resource: the server responded with ` +
            `a status of ${status} `;
        const problems = this.problems.splice(0).filter((p) =>
            !(status && p.startsWith(`console error: ${expected}`)));
        const left = this.outside.splice(0);
        if (!outside && left.length)
            problems.push(`requests left the origin: ${left.join(', ')}`);
        if (layout.scrollWidth > layout.innerWidth)
            problems.push(`horizontal scrolling: scrollWidth ` +
                          `${layout.scrollWidth} > innerWidth ${layout.innerWidth}` +
                          ` (widest: ${layout.widest})`);
        if (layout.unlabeled.length)
            problems.push(`controls without a label: ${layout.unlabeled.join('; ')}`);
        if (layout.small.length)
            problems.push(`tap targets under 44 px: ${layout.small.join('; ')}`);
        this.shots++;
        const name = `${String(this.shots).padStart(2, '0')}-${label}.png`;
        await page.screenshot({ path: path.join(this.dir, name), fullPage: true });
        if (problems.length)
            throw new Error(`${label} (${page.url()}):\n  ${problems.join('\n  ')}`);
        return left;
    }
}

// Runs in the page. Finds horizontal overflow, controls without a label
// and, on a phone, controls a finger cannot hit (WCAG 2.5.5: 44 x 44 CSS
// px; the box of a wrapping label counts, as tapping it works the control).
function layoutProbe(phone) {
    const se = document.scrollingElement;
    const out = { scrollWidth: se.scrollWidth, innerWidth: window.innerWidth,
                  small: [], widest: '', unlabeled: [] };
    const name = (el) => el.tagName.toLowerCase() +
        (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string'
            ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
        ` "${(el.textContent || el.value || el.getAttribute('aria-label') || '')
            .trim().slice(0, 30)}"`;
    let widest = 0;
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right > widest) {
            widest = r.right;
            out.widest = `${name(el)} right=${Math.round(r.right)}`;
        }
    }
    // every control says what it is to a screen reader
    for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea'))
        if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') &&
            !el.getAttribute('aria-labelledby'))
            out.unlabeled.push(el.outerHTML.slice(0, 80));
    if (!phone)
        return out;
    const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
    for (const el of document.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        const st = getComputedStyle(el);
        if (r.width === 0 || r.height === 0 || st.visibility === 'hidden' ||
            el.closest('.sr'))
            continue;
        let w = r.width;
        let h = r.height;
        const label = el.closest('label');
        if (label) {
            const lr = label.getBoundingClientRect();
            w = Math.max(w, lr.width);
            h = Math.max(h, lr.height);
        }
        if (w < 43.5 || h < 43.5)
            out.small.push(`${name(el)} ${Math.round(w)}x${Math.round(h)}`);
    }
    out.small = out.small.slice(0, 12);
    return out;
}

module.exports = { Session, PROFILES, ARTIFACTS };
