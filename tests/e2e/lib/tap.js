// tap.js - the e2e suite's tiny test runner: tests run one after another and
// print TAP ("ok N - name", "not ok N - name" with "#" diagnostics).
'use strict';

class Tap {
    constructor(out = process.stdout) {
        this.out = out;
        this.n = 0;
        this.failed = 0;
    }

    print(line) {
        this.out.write(line + '\n');
    }

    // Runs fn; a thrown error (or rejected promise) fails the test; a
    // string it returns is printed as a note. Returns true when it passed.
    async test(name, fn) {
        const t0 = Date.now();
        try {
            const said = await fn();
            this.n++;
            this.print(`ok ${this.n} - ${name}`);
            this.note(`  (${Date.now() - t0} ms)`);
            if (typeof said === 'string')
                this.note(said);
            return true;
        } catch (e) {
            this.fail(name, e);
            return false;
        }
    }

    fail(name, e) {
        this.n++;
        this.failed++;
        this.print(`not ok ${this.n} - ${name}`);
        const text = (e && e.stack) ? e.stack : String(e);
        for (const line of text.split('\n').slice(0, 30))
            this.print(`#   ${line}`);
    }

    note(text) {
        for (const line of String(text).split('\n'))
            this.print(`# ${line}`);
    }

    plan() {
        this.print(`1..${this.n}`);
    }
}

// Assertions with messages that say what was expected.
function assert(cond, msg) {
    if (!cond)
        throw new Error(msg);
}

function assertEq(actual, expected, what) {
    if (actual !== expected)
        throw new Error(`${what}: expected ${JSON.stringify(expected)}, ` +
                        `got ${JSON.stringify(actual)}`);
}

module.exports = { Tap, assert, assertEq };
