#!/usr/bin/env node
// run.js - the browser suite: starts the mail servers and postern, runs every
// flow in each profile (desktop/phone x JavaScript on/off), prints TAP.
'use strict';

const { Environment } = require('./lib/env');
const { Session, PROFILES, ARTIFACTS } = require('./lib/browser');
const { Tap } = require('./lib/tap');
const { FLOWS, pageWeight, scriptBudget } = require('./flows');

// For working on one flow: POSTERN_E2E_ONLY=regex keeps the tests whose
// name matches (make check sets nothing and runs all).
const ONLY = process.env.POSTERN_E2E_ONLY ? new RegExp(process.env.POSTERN_E2E_ONLY) : null;
const wanted = (name) => !ONLY || ONLY.test(name);

async function runProfile(tap, env, profile) {
    const s = new Session(profile, env.origin);
    // what this profile sends and moves: its own, so profiles share one seed
    const st = { token: `${profile.name}-${process.pid}-${Date.now() % 100000}` };
    try {
        await s.open();
    } catch (e) {
        tap.fail(`${profile.name}: chromium starts`, e);
        return;
    }
    let loggedIn = true;
    try {
        for (const [name, fn, only] of FLOWS) {
            if (only && Object.keys(only).some((k) => only[k] !== profile[k]))
                continue;
            const full = `${profile.name}: ${name}`;
            if (!wanted(full) && !/login/.test(name))
                continue;
            if (loggedIn) {
                const ok = await tap.test(full, () => fn(s, env, st));
                loggedIn = ok || fn.name !== 'loginBadThenGood';
            } else {
                tap.fail(full, new Error('not run: the login failed'));
            }
        }
    } finally {
        await s.close();
    }
}

async function runWeight(tap, env, js) {
    const profile = { name: `weight-${js ? 'js' : 'nojs'}`, size: 'desktop', js,
                      phone: false };
    const name = `page weight, login to inbox, JavaScript ${js ? 'on' : 'off'}: ` +
        'at most 30 KB, nothing from elsewhere';
    if (!wanted(name))
        return;
    const s = new Session(profile, env.origin, { intercept: false });
    try {
        await tap.test(name, async () => {
            await s.open();
            return pageWeight(s, env);
        });
    } finally {
        await s.close();
    }
}

async function main() {
    const tap = new Tap();
    const env = new Environment();
    let stopping = null;
    const stop = () => (stopping = stopping || env.stop());
    for (const sig of ['SIGINT', 'SIGTERM'])
        process.on(sig, () => stop().then(() => process.exit(1)));
    try {
        await env.start();
    } catch (e) {
        tap.fail('environment starts', e);
        await stop();
        tap.plan();
        return 1;
    }
    env.seed = env.manifest();
    tap.note(`postern at ${env.origin}, mail servers at base ` +
             `${env.mail.POSTERN_ENV_BASE}; screenshots in ${ARTIFACTS}`);
    try {
        for (const profile of PROFILES)
            await runProfile(tap, env, profile);
        for (const js of [true, false])
            await runWeight(tap, env, js);
        const name = 'postern.js: at most 10 KB, deferred, the only script';
        if (wanted(name))
            await tap.test(name, () => scriptBudget(env));
    } catch (e) {
        tap.fail('the suite runs to its end', e);
    } finally {
        await stop();
    }
    tap.plan();
    return tap.failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
    console.log(`not ok 1 - e2e runner\n# ${String(e && e.stack).split('\n').join('\n# ')}`);
    process.exit(1);
});
