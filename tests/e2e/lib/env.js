// env.js - what the browser tests run against: the private mail servers of
// tests/env (mailenv.sh), one `postern serve` on loopback, and an SMTP helper.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..', '..');
// Defaults apart from the integration suite (20000-22999, 18080-18299) and
// the demo (10000-10999, 8080), so both may run beside this one.
const ENV_BASE = envPort('POSTERN_E2E_ENV_BASE', 25000);
const PORT = envPort('POSTERN_E2E_PORT', 18500);
const WORK = path.join(ROOT, 'build', 'e2e');
const MAIL_DIR = path.join(ROOT, 'tests', 'env', 'run', 'e2e');
const MAILENV = path.join(ROOT, 'tests', 'env', 'mailenv.sh');
const CONFIG = path.join(WORK, 'postern.conf');
const ORIGIN = `http://127.0.0.1:${PORT}`;

function envPort(name, dflt) {
    const v = process.env[name];
    if (v === undefined || v === '')
        return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1024 || n > 64540)
        throw new Error(`${name} must be a port from 1024 to 64540, not '${v}'`);
    return n;
}

// KEY=value lines of mailenv's env.sh; values are quoted for sh only when
// they need it, and ours never hold a quote inside.
function readEnvFile(file) {
    const env = {};
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = /^(?:export )?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
        if (m)
            env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
    }
    return env;
}

function portIsFree(port) {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.once('error', () => resolve(false));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
}

async function waitPort(port, tries = 200) {
    for (let i = 0; i < tries; i++) {
        const ok = await new Promise((resolve) => {
            const c = net.connect(port, '127.0.0.1');
            c.once('connect', () => { c.destroy(); resolve(true); });
            c.once('error', () => resolve(false));
        });
        if (ok)
            return;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

function writeConfig(mail) {
    fs.writeFileSync(CONFIG, `# written by tests/e2e/lib/env.js for one run
[postern]
listen = 127.0.0.1:${PORT}
data_dir = ${ROOT}
threads = 4
connect_timeout = 5
io_timeout = 10
log_level = info

[server local]
protocol = imap
host = localhost
port = ${mail.IMAP_PORT}
tls = starttls
ca_file = ${mail.CA_FILE}
smtp_host = localhost
smtp_port = ${mail.SUBMISSION_PORT}
smtp_tls = starttls
address_domain = postern.test
`);
}

class Environment {
    constructor() {
        this.mail = null;
        this.postern = null;
        this.origin = ORIGIN;
        this.logPath = path.join(WORK, 'postern.log');
    }

    async start() {
        fs.mkdirSync(WORK, { recursive: true });
        if (!(await portIsFree(PORT)))
            throw new Error(`port ${PORT} is taken: stop what holds it or ` +
                            'set POSTERN_E2E_PORT');
        const r = spawnSync(MAILENV, ['start', '--dir', MAIL_DIR, '--base',
                                      String(ENV_BASE)],
                            { cwd: ROOT, encoding: 'utf8' });
        if (r.status !== 0)
            throw new Error(`mailenv.sh start failed:\n${r.stdout}${r.stderr}`);
        this.mail = readEnvFile(path.join(MAIL_DIR, 'env.sh'));
        writeConfig(this.mail);
        const log = fs.openSync(this.logPath, 'w');
        this.postern = spawn(path.join(ROOT, 'postern'),
                             ['serve', '-c', CONFIG],
                             { cwd: ROOT, stdio: ['ignore', log, log] });
        fs.closeSync(log);
        this.exited = new Promise((resolve) => this.postern.once('exit', resolve));
        await Promise.race([
            waitPort(PORT),
            this.exited.then((code) => {
                throw new Error(`postern exited (${code}); see ${this.logPath}`);
            }),
        ]);
    }

    // Each step runs whatever the others did: a failed start must not
    // leave servers behind.
    async stop() {
        if (this.postern && this.postern.exitCode === null) {
            this.postern.kill('SIGTERM');
            await this.exited;
        }
        spawnSync(MAILENV, ['stop', '--dir', MAIL_DIR], { cwd: ROOT });
    }

    // The seeded messages (tests/env/run/e2e/seed-manifest.json).
    manifest() {
        return JSON.parse(fs.readFileSync(this.mail.SEED_MANIFEST, 'utf8'));
    }

    // Delivers one message through the servers' "from outside" SMTP port,
    // as another mail system would: for the new-mail badge.
    smtpDeliver(from, to, subject, text) {
        const msg = [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`,
                     `Date: ${new Date().toUTCString()}`,
                     `Message-ID: <${Date.now()}.${process.pid}@e2e.postern.test>`,
                     'MIME-Version: 1.0',
                     'Content-Type: text/plain; charset=utf-8', '',
                     text.replace(/^\./gm, '..'), '.'].join('\r\n');
        const script = [`EHLO e2e.postern.test`, `MAIL FROM:<${from}>`,
                        `RCPT TO:<${to}>`, 'DATA', msg, 'QUIT'];
        return smtpTalk(Number(this.mail.SMTP_PORT), script);
    }
}

// Plays a fixed SMTP dialog: one command per server reply, every reply
// must be 2xx or 3xx (RFC 5321 §4.2). Multi-line replies end with "NNN ".
function smtpTalk(port, script) {
    return new Promise((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1');
        let buf = '';
        let step = 0;
        c.setEncoding('utf8');
        c.setTimeout(20000, () => c.destroy(new Error('SMTP: no reply')));
        c.on('error', reject);
        c.on('close', () => (step > script.length ? resolve()
                             : reject(new Error(`SMTP closed at step ${step}`))));
        c.on('data', (d) => {
            buf += d;
            let m;
            while ((m = /^(\d{3})([ -])(.*)\r\n/.exec(buf)) !== null) {
                buf = buf.slice(m[0].length);
                if (m[2] === '-')
                    continue;
                if (m[1][0] !== '2' && m[1][0] !== '3') {
                    c.destroy(new Error(`SMTP: ${m[0].trim()} after ` +
                                        `"${(script[step - 1] || '').slice(0, 40)}"`));
                    return;
                }
                if (step < script.length)
                    c.write(script[step] + '\r\n');
                step++;
            }
        });
    });
}

module.exports = { Environment, ROOT, ORIGIN, PORT, ENV_BASE };
