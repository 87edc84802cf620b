// Browser tests of the web app in headless Chromium (Debian's chromium, driven by
// playwright-core), against the real `tasksession serve` and a real SMTP server.
// crates/gateway/tests/browser.rs starts both and runs this file with:
//   TS_HTTP_PORT   the http listener's port (development mode serves *.localhost over HTTP)
//   TS_MAILDIR     the SMTP server's Maildir
//   TS_SCREENSHOTS where to save a screenshot of every page visited
// Each flow throws on the first thing that is not as it should be; the exit code says
// whether all passed.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const port = process.env.TS_HTTP_PORT;
const maildir = process.env.TS_MAILDIR;
const shots = process.env.TS_SCREENSHOTS;
if (!port || !maildir || !shots) {
  console.error('TS_HTTP_PORT, TS_MAILDIR and TS_SCREENSHOTS must be set');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

const PASSWORD = 'a long and happy passphrase';
const brands = {
  alpha: { host: 'alpha.localhost', name: 'Alpha Studio', primary: '#1f4e79' },
  beta: { host: 'beta.localhost', name: 'Beta Works', primary: '#5b2a86' },
};
const url = (brand, p) => `http://${brand.host}:${port}${p}`;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

let shot = 0;
async function snap(page, name) {
  shot += 1;
  const file = path.join(shots, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file} (${page.url()})`);
}

// Every mail received so far, decoded by Python's email package.
const READ = `
import email, email.policy, json, mailbox, sys
out = []
for key, message in mailbox.Maildir(sys.argv[1], create=False).items():
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    text = parsed.get_body(preferencelist=('plain',))
    html = parsed.get_body(preferencelist=('html',))
    out.append({'from': str(parsed['From']), 'to': str(parsed['To']), 'subject': str(parsed['Subject']),
                'text': text.get_content() if text else '', 'html': html.get_content() if html else ''})
print(json.dumps(out))
`;
function mails() {
  if (!fs.existsSync(path.join(maildir, 'new'))) return [];
  return JSON.parse(execFileSync('python3', ['-c', READ, maildir]).toString());
}
async function mailTo(address, kind) {
  for (let i = 0; i < 150; i += 1) {
    const found = mails().find((m) => m.to.includes(address) && m.text.includes(`/${kind}/`));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no ${kind} mail reached ${address} within 30 s`);
}
function link(mail, kind) {
  const match = mail.text.match(new RegExp(`https?://\\S+/${kind}/[A-Za-z0-9_-]+`));
  check(match, `no /${kind}/ link in: ${mail.text}`);
  return match[0];
}

async function setPassword(page, address, name) {
  const mail = await mailTo(address, 'invite');
  await page.goto(link(mail, 'invite'));
  await snap(page, `${name}-set-password`);
  await page.fill('#f-password', PASSWORD);
  await page.fill('#f-confirm', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/sign-in\?password_set=1/);
  check((await page.textContent('main')).includes('Your password is set'), 'no "password is set" notice');
  check((await page.inputValue('#f-email')) === address, 'the sign-in page does not have the address filled in');
  return mail;
}

async function signIn(page, brand, address, name) {
  await page.goto(url(brand, '/sign-in'));
  await page.fill('#f-email', address);
  await page.fill('#f-password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(url(brand, '/'));
  await snap(page, `${name}-home`);
}

async function noOtherBrand(page, brand, other, what) {
  const html = await page.content();
  check(!html.includes(other.name), `${what} of ${brand.name} names ${other.name}`);
  check(!html.toLowerCase().includes(other.primary), `${what} of ${brand.name} uses ${other.name}'s colour`);
  check(!/task ?session/i.test(html), `${what} of ${brand.name} names the vendor`);
  check(html.includes(brand.name), `${what} of ${brand.name} does not name it`);
}

const browser = await chromium.launch({
  executablePath: process.env.TS_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const failures = [];
let flows = 0;
async function flow(name, body) {
  flows += 1;
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}: ${error.stack || error}`);
  }
}

const admins = {};
await flow('each brand\'s first admin sets a password from the invitation mail and signs in', async () => {
  for (const [key, brand] of Object.entries(brands)) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const mail = await setPassword(page, `admin@${brand.host}`, `${key}-admin`);
    check(mail.from.includes(brand.name), `the invitation is not from ${brand.name}: ${mail.from}`);
    await signIn(page, brand, `admin@${brand.host}`, `${key}-admin`);
    check((await page.textContent('main')).includes('Your workspace'), 'the admin does not see the workspace');
    check((await page.textContent('main')).includes('development mode'), 'the admin is not told about development mode');
    admins[key] = page;
  }
});

await flow('an admin changes the branding and it applies at once', async () => {
  const page = admins.beta;
  await page.click('nav >> text=Settings');
  await snap(page, 'beta-settings');
  await page.click('main >> text=Branding');
  await page.waitForURL(url(brands.beta, '/settings/branding'));
  await page.fill('#f-primary_colour', '#ffee00');
  await page.click('button:has-text("Save branding")');
  check((await page.textContent('main')).includes('too light'), 'a colour without contrast was not refused in place');
  await snap(page, 'beta-branding-refused');
  await page.fill('#f-primary_colour', brands.beta.primary);
  await page.fill('#f-msg', 'Welcome to the Beta Works client portal.');
  await page.setInputFiles('#f-logo', {
    name: 'logo.svg',
    mimeType: 'image/svg+xml',
    buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#5b2a86"/></svg>'),
  });
  await page.click('button:has-text("Save branding")');
  check((await page.textContent('main')).includes('Branding saved'), 'branding was not saved');
  const colour = await page.evaluate(() => getComputedStyle(document.querySelector('header.bar')).backgroundColor);
  check(colour === 'rgb(91, 42, 134)', `the header is ${colour}, not the new primary colour`);
  await snap(page, 'beta-branding-saved');
  const signedOut = await (await browser.newContext()).newPage();
  await signedOut.goto(url(brands.beta, '/'));
  check((await signedOut.textContent('main')).includes('Welcome to the Beta Works client portal.'), 'the sign-in message is not shown');
  check(await signedOut.isVisible('img.logo'), 'the logo is not on the sign-in page');
  await snap(signedOut, 'beta-sign-in-branded');
});

let dana;
await flow('the admin adds a staff member, whose invitation arrives, sets a password and signs in', async () => {
  const page = admins.alpha;
  await page.click('nav >> text=Users');
  await page.fill('#f-name', 'Dana Designer');
  await page.fill('#f-email', 'not-an-address');
  await page.click('button:has-text("Add and invite")');
  check(await page.isVisible('#f-email-error'), 'a bad address has no error in place');
  check((await page.inputValue('#f-name')) === 'Dana Designer', 'the typed name was not kept');
  await snap(page, 'alpha-users-field-error');
  await page.fill('#f-email', 'dana@alpha.localhost');
  await page.selectOption('#f-role', 'staff');
  await page.click('button:has-text("Add and invite")');
  check((await page.textContent('main')).includes('an invitation is on its way to dana@alpha.localhost'), 'no invitation notice');
  await snap(page, 'alpha-users-added');
  dana = await (await browser.newContext()).newPage();
  const mail = await setPassword(dana, 'dana@alpha.localhost', 'alpha-dana');
  check(mail.subject === 'You are invited to Alpha Studio', `subject: ${mail.subject}`);
  await signIn(dana, brands.alpha, 'dana@alpha.localhost', 'alpha-dana');
  const main = await dana.textContent('main');
  check(main.includes('Welcome, Dana Designer') && main.includes('Your workspace'), 'Dana does not see the staff workspace');
  check(!(await dana.isVisible('nav >> text=Users')), 'staff see the Users page link');
  check(!main.includes('licence') && !main.includes('development mode'), 'staff see a licence notice');
  const forbidden = await dana.goto(url(brands.alpha, '/users'));
  check(forbidden.status() === 403, `a staff member got ${forbidden.status()} for /users`);
  await snap(dana, 'alpha-dana-users-forbidden');
});

await flow('a deactivated user\'s next click lands on the sign-in page with a clear message; their record stays', async () => {
  const page = admins.alpha;
  await page.goto(url(brands.alpha, '/users'));
  await page.click('button[aria-label="Deactivate Dana Designer"]');
  // Deactivating asks first, on a page of its own.
  check((await page.textContent('main')).includes('Deactivate Dana Designer?'), 'deactivating does not ask first');
  await page.click('button:has-text("Yes, deactivate Dana Designer")');
  check((await page.textContent('main')).includes('Dana Designer is deactivated'), 'no deactivation notice');
  const row = await page.textContent('tr:has-text("dana@alpha.localhost")');
  check(row.includes('deactivated'), `Dana's record is not listed as deactivated: ${row}`);
  await snap(page, 'alpha-users-deactivated');
  await dana.click('nav >> text=Home');
  await dana.waitForURL(/\/sign-in\?ended=1/);
  check((await dana.textContent('main')).includes('You have been signed out'), 'no clear message after deactivation');
  await snap(dana, 'alpha-dana-signed-out');
  await dana.fill('#f-email', 'dana@alpha.localhost');
  await dana.fill('#f-password', PASSWORD);
  await dana.click('button[type=submit]');
  check(dana.url().includes('/sign-in'), 'a deactivated user signed in');
});

let cleo;
await flow('the admin adds a client company and a contact with limited switches, who sees only the portal', async () => {
  const page = admins.alpha;
  await page.click('nav >> text=Clients');
  await page.fill('#f-name', 'Northwind Traders');
  await page.fill('#f-details', 'Main client since 2024');
  await page.click('button:has-text("Add company")');
  await page.waitForURL(/\/clients\/[^/?]+\?done=added/);
  await page.fill('#f-contact-name', 'Cleo Client');
  await page.fill('#f-contact-email', 'cleo@alpha.localhost');
  // Only downloading and discussions: untick the rest.
  for (const word of ['files.upload', 'messages.clients', 'invoices.view', 'invoices.pay']) {
    await page.uncheck(`#new-${word.replace('.', '-')}`);
  }
  await snap(page, 'alpha-client-add-contact');
  await page.click('button:has-text("Add and invite contact")');
  check((await page.textContent('main')).includes('an invitation is on its way to cleo@alpha.localhost'), 'no contact invitation notice');
  await snap(page, 'alpha-client-company');
  cleo = await (await browser.newContext()).newPage();
  await setPassword(cleo, 'cleo@alpha.localhost', 'alpha-cleo');
  await signIn(cleo, brands.alpha, 'cleo@alpha.localhost', 'alpha-cleo');
  const main = await cleo.textContent('main');
  check(main.includes('Northwind Traders') && main.includes('What you can do in Alpha Studio'), 'the contact does not see the portal');
  check(main.includes("see your company's projects"), 'the portal does not say what the contact can do');
  // Cleo may download files and take part in discussions but not upload files or exchange
  // messages; invoices do not exist yet: the portal promises exactly what she can do.
  check(main.includes('download files'), 'the portal does not say the contact can download files');
  check(main.includes('take part in discussions'), 'the portal does not say the contact can take part in discussions');
  for (const phrase of ['upload files', 'exchange messages', 'pay invoices']) {
    check(!main.includes(phrase), `the portal promises "${phrase}"`);
  }
  const links = await cleo.$$eval('nav.main a', (as) => as.map((a) => a.textContent));
  check(links.join(',') === 'Home,Projects', `a client sees navigation: ${links}`);
  check(!main.includes('licence') && !main.includes('development mode'), 'a client sees a licence notice');
  for (const p of ['/users', '/clients', '/settings']) {
    const answer = await cleo.goto(url(brands.alpha, p));
    check(answer.status() === 403, `a client got ${answer.status()} for ${p}`);
  }
  await snap(cleo, 'alpha-cleo-forbidden');
});

let pat;
await flow('a custom "Project Manager" role without payments.settings finds no payment settings, and the API says 403', async () => {
  const page = admins.alpha;
  await page.click('nav >> text=Roles');
  check(await page.isDisabled('#r-admin-users-manage'), 'the admin role is editable');
  // A nameless role is refused at the name field, and the ticked boxes stay ticked.
  await page.check('#new-tasks-create');
  await page.click('button:has-text("Create role")');
  check(await page.isVisible('#f-name-error'), 'no error at the role name');
  check(await page.isChecked('#new-tasks-create'), 'the ticked permission was not kept');
  await snap(page, 'alpha-roles-field-error');
  await page.fill('#f-name', 'Project Manager');
  for (const word of ['projects.create', 'projects.edit', 'tasks.create', 'tasks.edit', 'tasks.assign', 'tasks.move', 'files.upload', 'files.download', 'invoices.view']) {
    await page.check(`#new-${word.replace('.', '-')}`);
  }
  await page.click('button:has-text("Create role")');
  check((await page.textContent('main')).includes('The role Project Manager is created'), 'the role was not created');
  await snap(page, 'alpha-roles');
  await page.click('nav >> text=Users');
  await page.fill('#f-name', 'Pat Manager');
  await page.fill('#f-email', 'pat@alpha.localhost');
  await page.selectOption('#f-role', { label: 'Project Manager' });
  await page.click('button:has-text("Add and invite")');
  pat = await (await browser.newContext()).newPage();
  await setPassword(pat, 'pat@alpha.localhost', 'alpha-pat');
  await signIn(pat, brands.alpha, 'pat@alpha.localhost', 'alpha-pat');
  check((await pat.textContent('main')).includes('Project Manager'), 'the role is not shown');
  const links = await pat.$$eval('nav.main a', (as) => as.map((a) => a.textContent));
  check(!links.includes('Payments') && !links.includes('Settings'), `a project manager sees ${links}`);
  const denied = await pat.goto(url(brands.alpha, '/settings/payments'));
  check(denied.status() === 403, `the payment settings page answered ${denied.status()}`);
  await snap(pat, 'alpha-pat-payments-forbidden');
  const api = await pat.evaluate(async () => (await fetch('/api/v1/settings/payments')).status);
  check(api === 403, `the payment settings API answered ${api}`);
  // The admin edits Pat: access ends on a date.
  await page.goto(url(brands.alpha, '/users'));
  await page.click('a:has-text("Pat Manager")');
  await page.fill('#f-access_expires_at', '2099-12-31');
  await page.click('button:has-text("Save")');
  check((await page.textContent('main')).includes('Pat Manager is saved'), 'the user edit was not saved');
  check((await page.inputValue('#f-access_expires_at')) === '2099-12-31', 'the end date was not kept');
  await snap(page, 'alpha-user-edit');
});

await flow('the admin keeps payment keys (shown masked) and sends a test e-mail', async () => {
  const page = admins.alpha;
  await page.goto(url(brands.alpha, '/settings/payments'));
  await page.check('#f-stripe-enabled');
  await page.fill('#f-stripe-public', 'pk_test_51Habc');
  await page.fill('#f-stripe-secret', 'sk_test_51Hsecretvalue4242');
  await page.click('button:has-text("Save payment settings")');
  const html = await page.content();
  check(html.includes('Payment settings saved') && html.includes('••••4242'), 'the secret is not shown masked');
  check(!html.includes('sk_test_51Hsecretvalue4242'), 'the secret key is shown in full');
  await snap(page, 'alpha-payments');
  await page.goto(url(brands.alpha, '/settings/email'));
  const before = mails().length;
  await page.click('button:has-text("Send test e-mail to me")');
  check((await page.textContent('main')).includes('A test mail to admin@alpha.localhost was accepted'), 'the test mail was not sent');
  await snap(page, 'alpha-email-settings');
  for (let i = 0; i < 100 && mails().length === before; i += 1) await new Promise((r) => setTimeout(r, 200));
  const test = mails().find((m) => m.subject === 'Test mail from Alpha Studio');
  check(test && test.to.includes('admin@alpha.localhost'), 'the test mail did not arrive');
});

function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

await flow('an admin turns on two-factor sign-in from the QR code page, and sign-in then asks for the code', async () => {
  const page = admins.beta;
  await page.goto(url(brands.beta, '/profile'));
  await page.fill('#f-password', PASSWORD);
  await page.click('button:has-text("Set up")');
  check(await page.isVisible('svg[aria-label="QR code for your authenticator app"]'), 'no QR code');
  await snap(page, 'beta-admin-two-factor-qr');
  const secret = (await page.textContent('main code')).trim();
  await page.fill('#f-code', totp(secret));
  await page.click('button:has-text("Turn on")');
  check((await page.textContent('main')).includes('Keep these recovery codes'), 'no recovery codes shown');
  const recovery = await page.$$eval('main li code', (codes) => codes.map((c) => c.textContent.trim()));
  check(recovery.length === 10, `${recovery.length} recovery codes shown`);
  await snap(page, 'beta-admin-two-factor-on');
  const fresh = await (await browser.newContext()).newPage();
  await fresh.goto(url(brands.beta, '/sign-in'));
  await fresh.fill('#f-email', 'admin@beta.localhost');
  await fresh.fill('#f-password', PASSWORD);
  await fresh.click('button[type=submit]');
  check(await fresh.isVisible('#f-totp'), 'sign-in did not ask for the code');
  await snap(fresh, 'beta-sign-in-two-factor');
  // The code just used cannot be used again; a recovery code works (once).
  await fresh.fill('#f-password', PASSWORD);
  await fresh.fill('#f-totp', recovery[0]);
  await fresh.click('button[type=submit]');
  await fresh.waitForURL(url(brands.beta, '/'));
  check((await fresh.textContent('main')).includes('Your workspace'), 'the recovery code did not sign in');
});

await flow('brand A\'s pages, e-mails and error pages never show brand B', async () => {
  for (const [mine, other] of [[brands.alpha, brands.beta], [brands.beta, brands.alpha]]) {
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(url(mine, '/'));
    await noOtherBrand(visitor, mine, other, 'the sign-in page');
    const missing = await visitor.goto(url(mine, '/no-such-page'));
    check(missing.status() === 404, `a missing page answered ${missing.status()}`);
    await noOtherBrand(visitor, mine, other, 'the error page');
    await snap(visitor, `${mine.host.split('.')[0]}-not-found`);
    await visitor.goto(url(mine, '/forgot-password'));
    await noOtherBrand(visitor, mine, other, 'the forgotten-password page');
    const admin = admins[mine === brands.alpha ? 'alpha' : 'beta'];
    await admin.goto(url(mine, '/'));
    await noOtherBrand(admin, mine, other, 'the workspace');
    for (const mail of mails().filter((m) => m.to.includes(`@${mine.host}`))) {
      check(!mail.text.includes(other.name) && !mail.html.includes(other.name), `a mail of ${mine.name} names ${other.name}`);
      check(!mail.from.includes(other.name), `a mail of ${mine.name} is from ${other.name}`);
    }
  }
});

await flow('the admin pages not visited above render in the brand\'s look: Teams, Clients, Settings, Security, Audit log, Access review, Profile, forgotten password', async () => {
  const page = admins.alpha;
  await page.goto(url(brands.alpha, '/teams'));
  await page.fill('#f-name', 'Design');
  await page.click('button:has-text("Create team")');
  check((await page.textContent('main')).includes('The team Design is created'), 'the team was not created');
  await page.selectOption('select[name=user]', { label: 'Pat Manager (pat@alpha.localhost)' });
  await page.click('button:has-text("Add")');
  check((await page.textContent('main')).includes('Added to Design'), 'the member was not added');
  await snap(page, 'alpha-teams');
  // On a phone the header's links fold behind a Menu button, which works without script.
  await page.setViewportSize({ width: 375, height: 800 });
  check(!(await page.isVisible('nav.main')), 'the navigation is not folded on a narrow screen');
  await page.click('label.menu-button');
  check(await page.isVisible('nav.main >> text=Teams'), 'the Menu button does not show the navigation');
  await snap(page, 'alpha-teams-narrow-menu');
  await page.setViewportSize({ width: 1280, height: 720 });
  for (const [path, heading, name] of [
    ['/clients', 'Clients', 'alpha-clients'],
    ['/settings', 'Settings', 'alpha-settings'],
    ['/settings/security', 'Security', 'alpha-security'],
    ['/audit', 'Audit log', 'alpha-audit'],
    ['/access-review', 'Access review', 'alpha-access-review'],
    ['/profile', 'Administrator', 'alpha-profile'],
  ]) {
    const answer = await page.goto(url(brands.alpha, path));
    check(answer.status() === 200, `${path} answered ${answer.status()}`);
    check((await page.textContent('h1')).includes(heading), `${path} has no "${heading}" heading`);
    await noOtherBrand(page, brands.alpha, brands.beta, path);
    await snap(page, name);
  }
  check((await page.textContent('main')).includes('this browser'), 'the profile does not list this session');
  await page.fill('#f-current_password', 'not my password at all');
  await page.fill('#f-new_password', 'another long passphrase');
  await page.fill('#f-confirm', 'another long passphrase');
  await page.click('button:has-text("Change password")');
  check(await page.isVisible('#f-current_password-error'), 'no error at the current password');
  await snap(page, 'alpha-profile-field-error');
  await page.goto(url(brands.alpha, '/audit'));
  check((await page.textContent('main')).includes('team.member_add'), 'the audit log misses the team change');
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(url(brands.alpha, '/forgot-password'));
  await visitor.fill('#f-email', 'nobody@alpha.localhost');
  await visitor.click('button[type=submit]');
  check((await visitor.textContent('main')).includes('If an account uses that address'), 'no neutral answer');
  await snap(visitor, 'alpha-forgot-password');
});

await flow('a project for a client company: made and shared with a team, seen by its contacts only, archived, and flagged in the access review', async () => {
  // Pat (Project Manager: projects.create and projects.edit) makes the project.
  await pat.goto(url(brands.alpha, '/projects'));
  await pat.click('summary:has-text("New project")');
  await pat.click('button:has-text("Create project")');
  check(await pat.isVisible('#f-name-error'), 'a nameless project has no error at the name');
  await pat.fill('#f-name', 'Northwind website');
  await pat.fill('#f-description', 'A new website for Northwind.\n\nLaunch in spring.');
  await pat.selectOption('#f-company', { label: 'Northwind Traders' });
  await pat.click('button:has-text("Create project")');
  await pat.waitForURL(/\/projects\/[^/?]+\?done=created/);
  const address = pat.url().split('?')[0];
  let main = await pat.textContent('main');
  check(main.includes('You are its first member'), 'the maker is not told they are its first member');
  check(main.includes('Northwind Traders'), 'the client company is not shown');
  await pat.click('nav.tabs >> text=People');
  check((await pat.textContent('main')).includes('Pat Manager'), 'the maker is not its first member');
  await pat.selectOption('#f-team', { label: 'Design' });
  await pat.click('button:has-text("Add team")');
  main = await pat.textContent('main');
  check(main.includes('Added to the project') && main.includes('Design'), 'the team was not added');
  // Saving the edit form keeps the client company.
  await pat.click('nav.tabs >> text=Settings');
  await pat.fill('#f-description', 'A new website for Northwind.\n\nLaunch in spring, with a shop.');
  await pat.click('button:has-text("Save project")');
  main = await pat.textContent('main');
  check(main.includes('Saved.') && main.includes('with a shop') && main.includes('Client: Northwind Traders'), 'the edit was not saved or lost the company');
  await snap(pat, 'alpha-project');
  // The board: a client-visible task and an internal one; the first moves on.
  await pat.click('nav.tabs >> text=Board');
  for (const [title, visibility] of [['Approve the homepage', 'client'], ['Check hosting costs', 'internal']]) {
    await pat.click('summary:has-text("New task")');
    await pat.fill('#f-title', title);
    await pat.selectOption('#f-visibility', visibility);
    await pat.click('button:has-text("Add task")');
    check((await pat.textContent('main')).includes('The task is on the board'), `the task ${title} was not added`);
  }
  await pat.click('button[aria-label="Move Approve the homepage to In progress"]');
  const progress = await pat.textContent('section.column:has(#col-in_progress)');
  check(progress.includes('Approve the homepage'), `the task did not move: ${progress}`);
  await pat.click('a:has-text("Check hosting costs")');
  await pat.fill('#f-due_on', '2027-03-31');
  await pat.click('button:has-text("Save task")');
  check((await pat.textContent('dl.facts')).includes('2027-03-31'), 'the due date was not saved');
  await snap(pat, 'alpha-task');
  await pat.goto(address);
  await snap(pat, 'alpha-board');
  await pat.goto(url(brands.alpha, '/projects'));
  check((await pat.textContent('main')).includes('Northwind website'), 'the project is not listed');
  await snap(pat, 'alpha-projects');

  // The company's contact sees it in the portal, without the agency's people.
  await cleo.goto(url(brands.alpha, '/'));
  check((await cleo.textContent('main')).includes('Northwind website'), 'the portal does not list the project');
  await cleo.click('a:has-text("Northwind website")');
  main = await cleo.textContent('main');
  check(main.includes('Launch in spring'), 'the contact does not see the project');
  check(!main.includes('Pat Manager') && !main.includes('Design'), 'the contact is shown who works on it');
  check(main.includes('Approve the homepage') && !main.includes('Check hosting costs'), 'the contact does not see exactly the client-visible task');
  check(!(await cleo.isVisible('button[aria-label^="Move"]')), 'the contact is offered moving tasks');
  check(!(await cleo.isVisible('button:has-text("Archive project")')), 'the contact is offered archiving');
  await snap(cleo, 'alpha-cleo-project');

  // Files: Pat uploads an internal note and a client-visible design (with the progress
  // bar), then a second version of the design by dropping nothing but choosing a file.
  await pat.goto(address + '/files');
  await pat.setInputFiles('#file', { name: 'hosting-costs.txt', mimeType: 'text/plain', buffer: Buffer.from('internal figures') });
  await pat.click('button:has-text("Upload")');
  await pat.waitForURL(/\/files\?done=uploaded/);
  const design = crypto.randomBytes(300 * 1024);
  await pat.selectOption('#visibility', 'client');
  await pat.setInputFiles('#file', { name: 'homepage design.bin', mimeType: 'application/octet-stream', buffer: design });
  await pat.click('button:has-text("Upload")');
  // The address is the same after the second upload: wait for its row in the list.
  await pat.waitForSelector('table.files a:has-text("homepage design.bin")');
  main = await pat.textContent('main');
  check(main.includes('hosting-costs.txt') && main.includes('homepage design.bin'), 'the uploads are not listed');
  check(main.includes('client-visible') && main.includes('internal'), 'the list does not say who sees each file');
  await snap(pat, 'alpha-files');
  await pat.click('a:has-text("homepage design.bin")');
  const second = crypto.randomBytes(200 * 1024);
  await pat.setInputFiles('#file', { name: 'homepage design v2.bin', mimeType: 'application/octet-stream', buffer: second });
  await pat.click('button:has-text("Upload")');
  await pat.waitForURL(/done=version/);
  main = await pat.textContent('main');
  check(main.includes('The new version is uploaded') && main.includes('homepage design v2.bin') && main.includes('Versions'), 'the version is not shown');
  check((await pat.$$('section[aria-labelledby=versions] tbody tr')).length === 2, 'the file does not list two versions');
  await snap(pat, 'alpha-file-versions');
  const designPage = pat.url().split('?')[0];

  // Cleo sees the client-visible file only, downloads it, and has no upload form.
  await cleo.goto(address + '/files');
  main = await cleo.textContent('main');
  check(main.includes('homepage design v2.bin') && !main.includes('hosting-costs.txt'), 'the contact does not see exactly the client-visible file');
  check(!(await cleo.isVisible('form[data-upload]')), 'a contact without files.upload is offered uploading');
  const [download] = await Promise.all([cleo.waitForEvent('download'), cleo.click('a:has-text("Download")')]);
  const got = fs.readFileSync(await download.path());
  check(got.equals(second), `the contact downloaded ${got.length} bytes that are not the current version`);
  await snap(cleo, 'alpha-cleo-files');
  const internalId = await pat.evaluate(async (project) => {
    const list = await (await fetch(`/api/v1/projects/${project}/files`)).json();
    return list.items.find((f) => f.name === 'hosting-costs.txt').id;
  }, address.split('/').pop());
  const hiddenFile = await cleo.goto(`${address}/files/${internalId}`);
  check(hiddenFile.status() === 404, `the contact got ${hiddenFile.status()} for an internal file`);

  // The admin moves the design to the trash and restores it.
  await admins.alpha.goto(designPage);
  await admins.alpha.click('button:has-text("Move to the trash")');
  await admins.alpha.waitForURL(/done=trashed/);
  check(!(await admins.alpha.textContent('main')).includes('homepage design v2.bin'), 'the trashed file is still listed');
  await admins.alpha.click('a:has-text("The project\'s trash")');
  check((await admins.alpha.textContent('main')).includes('homepage design v2.bin'), 'the trash does not list the file');
  await snap(admins.alpha, 'alpha-files-trash');
  await admins.alpha.click('a:has-text("homepage design v2.bin")');
  await admins.alpha.click('button:has-text("Restore the file")');
  await admins.alpha.waitForURL(/done=restored/);
  await cleo.goto(address + '/files');
  check((await cleo.textContent('main')).includes('homepage design v2.bin'), 'the restored file is not back for the contact');

  // Another company's contact cannot reach it at all.
  const page = admins.alpha;
  await page.goto(url(brands.alpha, '/clients'));
  await page.fill('#f-name', 'Contoso');
  await page.click('button:has-text("Add company")');
  await page.waitForURL(/\/clients\/[^/?]+\?done=added/);
  await page.fill('#f-contact-name', 'Omar Other');
  await page.fill('#f-contact-email', 'omar@alpha.localhost');
  await page.click('button:has-text("Add and invite contact")');
  const omar = await (await browser.newContext()).newPage();
  await setPassword(omar, 'omar@alpha.localhost', 'alpha-omar');
  await signIn(omar, brands.alpha, 'omar@alpha.localhost', 'alpha-omar');
  const hidden = await omar.goto(address);
  check(hidden.status() === 404, `another company's contact got ${hidden.status()} for the project`);
  check(!(await omar.textContent('main')).includes('Northwind website'), 'another company\'s contact sees its name');
  const api = await omar.evaluate(async () => (await (await fetch('/api/v1/projects?status=all')).json()).items.length);
  check(api === 0, `another company's contact lists ${api} projects`);

  // The admin archives it: it stays readable, cannot be edited, and the access review
  // flags the contact whose projects are now all archived.
  await page.goto(address + '/settings');
  await page.click('button:has-text("Archive project")');
  main = await page.textContent('main');
  check(main.includes('The project is archived') && main.includes('Launch in spring'), 'the archived project is not readable');
  check(!(await page.isVisible('button:has-text("Save project")')), 'an archived project offers editing');
  await snap(page, 'alpha-project-archived');
  await page.goto(url(brands.alpha, '/access-review'));
  const row = await page.textContent('tr:has-text("cleo@alpha.localhost")');
  check(row.includes('all their projects are archived') && row.includes('Northwind website'), `the contact is not flagged: ${row}`);
  await snap(page, 'alpha-access-review-archived');
  await cleo.goto(url(brands.alpha, '/projects?status=archived'));
  check((await cleo.textContent('main')).includes('Northwind website'), 'the contact cannot find the archived project');
});

let patUser;
await flow('the board is live: a card dragged by one user appears on another\'s open board, keyboard moves keep focus, a refused move is undone, and the activity tab tells it', async () => {
  const admin = admins.alpha;
  await admin.goto(url(brands.alpha, '/projects'));
  const project = await admin.evaluate(async () => {
    const send = async (method, address, body) => {
      const answer = await fetch(address, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return answer.json();
    };
    const made = await send('POST', '/api/v1/projects', { name: 'Live board' });
    for (const title of ['First card', 'Second card', 'Third card']) {
      await send('POST', `/api/v1/projects/${made.id}/tasks`, { title });
    }
    const pat = (await (await fetch('/api/v1/users?q=pat%40alpha')).json()).items[0];
    await send('POST', `/api/v1/projects/${made.id}/members`, { user: pat.id });
    return [made.id, pat.id];
  }).then(([id, patId]) => { patUser = patId; return id; });
  const board = url(brands.alpha, `/projects/${project}`);
  await admin.goto(board);
  await pat.goto(board);
  // The bell: being added told Pat already; an assignment counts on his open page.
  const bellCount = async () => parseInt((await pat.textContent('a.bell .count')) || '0', 10) || 0;
  const before = await bellCount();
  check(before >= 1, `Pat's bell does not count being added to the project: ${before}`);
  await admin.evaluate(async ([id]) => {
    const tasks = (await (await fetch(`/api/v1/projects/${id}/tasks`)).json()).items;
    const first = tasks.find((t) => t.title === 'First card');
    const users = (await (await fetch('/api/v1/users?q=pat%40alpha')).json()).items;
    await fetch(`/api/v1/projects/${id}/tasks/${first.id}`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ assignee: users[0].id }),
    });
  }, [project]);
  await pat.waitForFunction((n) => parseInt(document.querySelector('a.bell .count').textContent || '0', 10) === n + 1, before, { timeout: 5000 });
  check((await pat.textContent('#bell-news')).includes('assigned you'), 'the new notification was not announced');
  await snap(pat, 'alpha-bell-counts-assignment');
  const card = (title) => `article.task[data-title="${title}"]`;
  const inColumn = (status, title) => `section.column[data-status="${status}"] ${card(title)}`;
  const statusOf = async (title) => admin.evaluate(async ([id, title]) => {
    const tasks = (await (await fetch(`/api/v1/projects/${id}/tasks`)).json()).items;
    return tasks.find((t) => t.title === title).status;
  }, [project, title]);
  const waitFor = async (what, test) => {
    for (let i = 0; i < 50; i += 1) {
      if (await test()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} within 5 s`);
  };

  // The admin's own board shows the assignment too (it follows the stream as well); once
  // it has settled, the admin drags the first card to Done with the mouse.
  await admin.waitForSelector(`${card('First card')}:has-text("Pat Manager")`, { timeout: 5000 });
  await admin.waitForTimeout(500);
  const from = await admin.locator(card('First card')).boundingBox();
  const done = await admin.locator('section.column[data-status="done"]').boundingBox();
  // Grabbed by its top corner (the move buttons at its foot are buttons, not handles).
  await admin.mouse.move(from.x + from.width - 8, from.y + 6);
  await admin.mouse.down();
  await admin.mouse.move(from.x + from.width - 20, from.y + 20, { steps: 4 });
  await admin.mouse.move(done.x + done.width / 2, done.y + 40, { steps: 12 });
  await admin.mouse.up();
  check(await admin.isVisible(inColumn('done', 'First card')), 'the dragged card is not in Done on the dragger\'s board');
  check(admin.url() === board, `the drag followed the card's link to ${admin.url()}`);
  await waitFor('the move did not reach the server', async () => (await statusOf('First card')) === 'done');
  // Pat's open board shows it without a reload.
  await pat.waitForSelector(inColumn('done', 'First card'), { timeout: 5000 });
  await snap(pat, 'alpha-live-board-after-drag');

  // Pat moves the second card with the keyboard: two columns right; focus stays on it.
  await pat.focus(card('Second card'));
  await pat.keyboard.press('Space');
  await pat.keyboard.press('ArrowRight');
  await pat.keyboard.press('ArrowRight');
  const said = await pat.textContent('#board-status');
  check(said.includes('Second card') && said.includes('Review'), `the move was not announced: ${said}`);
  await pat.keyboard.press('Space');
  const focused = await pat.evaluate(() => document.activeElement && document.activeElement.dataset.title);
  check(focused === 'Second card', `focus went to ${focused}`);
  await waitFor('the keyboard move did not reach the server', async () => (await statusOf('Second card')) === 'review');
  await admin.waitForSelector(inColumn('review', 'Second card'), { timeout: 5000 });
  check(await pat.isVisible(inColumn('review', 'Second card')), 'the card is not in Review on the mover\'s board');
  await snap(pat, 'alpha-live-board-keyboard');

  // Pat is taken off the project meanwhile (his open board is not told: he no longer
  // sees its events): his next move is refused and undone, with why.
  await admin.evaluate(async ([id, user]) => fetch(`/api/v1/projects/${id}/members/${user}`, { method: 'DELETE' }), [project, patUser]);
  await pat.focus(card('Third card'));
  await pat.keyboard.press('Space');
  await pat.keyboard.press('ArrowRight');
  await pat.keyboard.press('Enter');
  await pat.waitForSelector('#board-problem:not([hidden])', { timeout: 5000 });
  const problem = await pat.textContent('#board-problem');
  check(problem.includes('Third card') && problem.includes('no such project'), `the refusal does not say why: ${problem}`);
  await waitFor('the refused card did not go back', async () => pat.isVisible(inColumn('todo', 'Third card')));
  check((await statusOf('Third card')) === 'todo', 'the refused move was kept');
  await snap(pat, 'alpha-live-board-refused');

  // The notification is listed, and was mailed with a link that unsubscribes without
  // signing in.
  await pat.goto(url(brands.alpha, '/notifications'));
  check((await pat.textContent('main')).includes('assigned you \u201cFirst card\u201d'), 'the assignment is not listed');
  await snap(pat, 'alpha-notifications');
  let assigned;
  for (let i = 0; i < 150 && !assigned; i += 1) {
    assigned = mails().find((m) => m.to.includes('pat@alpha.localhost') && m.subject.includes('assigned you'));
    if (!assigned) await new Promise((r) => setTimeout(r, 200));
  }
  check(assigned, 'no assignment mail reached Pat');
  check(assigned.text.includes('/tasks/'), `the mail does not link to the task: ${assigned.text}`);
  const unsubscribe = assigned.text.match(/https?:\/\/\S+\/unsubscribe\/\S+/);
  check(unsubscribe, `the mail has no unsubscribe link: ${assigned.text}`);
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(unsubscribe[0]);
  check(!(await stranger.content()).includes(brands.beta.name), 'the unsubscribe page names another brand');
  await stranger.click('button:has-text("Unsubscribe")');
  check((await stranger.textContent('main')).includes('no longer sends'), 'unsubscribing did not work without signing in');
  await snap(stranger, 'alpha-unsubscribed');
  await pat.goto(url(brands.alpha, '/notifications'));
  check(await pat.$eval('select[name="assigned.email"]', (s) => s.value) === 'never', 'the unsubscribe did not reach the settings');

  // The activity tab tells who did what.
  await admin.goto(`${board}/activity`);
  const activity = await admin.textContent('ol.activity');
  check(activity.includes('moved First card to Done') && activity.includes('Pat Manager moved Second card to Review') && activity.includes('took Pat Manager off the project'), `the activity does not tell the moves: ${activity}`);
  await snap(admin, 'alpha-project-activity');

  // Each role's home page is "my work": Pat (back on the project) sees the card assigned
  // to him under today, with the project's progress; the admin also sees the brand's
  // health; the client contact sees the portal with progress.
  const today = new Date().toISOString().slice(0, 10);
  await admin.evaluate(async ([id, user, today]) => {
    await fetch(`/api/v1/projects/${id}/members`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user }) });
    const tasks = (await (await fetch(`/api/v1/projects/${id}/tasks`)).json()).items;
    const third = tasks.find((t) => t.title === 'Third card');
    await fetch(`/api/v1/projects/${id}/tasks/${third.id}`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ assignee: user, due_on: today }),
    });
  }, [project, patUser, today]);
  await pat.goto(url(brands.alpha, '/'));
  const home = await pat.textContent('section[aria-labelledby=tasks]');
  check(home.includes('Due today') && home.includes('Third card') && home.includes('Live board'), `Pat's home does not show his task due today: ${home}`);
  check((await pat.textContent('section[aria-labelledby=projects]')).includes('1 of 3 done'), 'Pat\'s home does not show the project\'s progress');
  check((await pat.textContent('ul.unread-list')).includes('assigned you \u201cThird card\u201d'), 'Pat\'s home does not list his unread notifications');
  await snap(pat, 'alpha-home-staff');
  await admin.goto(url(brands.alpha, '/'));
  check((await admin.textContent('main')).includes('The brand\'s health'), 'the admin\'s home has no brand health');
  await snap(admin, 'alpha-home-admin');
  // (Northwind's website is archived by now: a second project of theirs is active, with a
  // client-visible card waiting in Review and an internal one.)
  await admin.evaluate(async () => {
    const send = async (address, body) => (await fetch(address, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json();
    const companies = (await (await fetch('/api/v1/clients')).json()).items;
    const northwind = companies.find((c) => c.name === 'Northwind Traders');
    const made = await send('/api/v1/projects', { name: 'Northwind shop', company: northwind.id });
    await send(`/api/v1/projects/${made.id}/tasks`, { title: 'Approve the shop design', visibility: 'client', status: 'review' });
    await send(`/api/v1/projects/${made.id}/tasks`, { title: 'Price the hosting', visibility: 'internal', status: 'done' });
  });
  await cleo.goto(url(brands.alpha, '/'));
  const portal = await cleo.textContent('main');
  check(portal.includes('Northwind shop') && portal.includes('0 of 1 done'), `the portal does not show progress over client-visible tasks: ${portal}`);
  check(portal.includes('Approve the shop design') && !portal.includes('Price the hosting'), `the portal does not show exactly what waits for the contact: ${portal}`);
  check(!portal.includes('Live board'), 'the contact sees an internal project');
  await snap(cleo, 'alpha-home-client');
});

await flow('conversations: a comment mentions a colleague who is told, a client message appears live for the team, two staff chat with unread counts right, and the header search finds a comment', async () => {
  const admin = admins.alpha;
  await admin.goto(url(brands.alpha, '/projects'));
  // Pat's role takes part in conversations and team chat now, and Cleo may exchange
  // messages; Pat joins the Northwind shop project.
  const ids = await admin.evaluate(async () => {
    const json = async (method, address, body) => (await fetch(address, {
      method, headers: { 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
    })).json();
    const manager = (await json('GET', '/api/v1/roles')).items.find((r) => r.name === 'Project Manager');
    await json('PATCH', `/api/v1/roles/${manager.id}`, { permissions: [...manager.permissions, 'discussions.participate', 'messages.clients', 'chat.team'] });
    const cleo = (await json('GET', '/api/v1/users?q=cleo%40alpha')).items[0];
    await json('PATCH', `/api/v1/users/${cleo.id}`, { switches: ['files.download', 'discussions.participate', 'messages.clients'] });
    const projects = (await json('GET', '/api/v1/projects')).items;
    const live = projects.find((p) => p.name === 'Live board');
    const shop = projects.find((p) => p.name === 'Northwind shop');
    const pat = (await json('GET', '/api/v1/users?q=pat%40alpha')).items[0];
    await json('POST', `/api/v1/projects/${shop.id}/members`, { user: pat.id });
    const tasks = (await json('GET', `/api/v1/projects/${live.id}/tasks`)).items;
    return { live: live.id, shop: shop.id, task: tasks.find((t) => t.title === 'Second card').id };
  });
  const bellCount = async (page) => parseInt((await page.textContent('a.bell .count')) || '0', 10) || 0;

  // 1. A comment on a task, mentioning Pat through the @ completion.
  await pat.goto(url(brands.alpha, '/'));
  const before = await bellCount(pat);
  const taskPage = url(brands.alpha, `/projects/${ids.live}/tasks/${ids.task}`);
  await admin.goto(taskPage);
  await admin.click('#f-body');
  await admin.keyboard.type('Please check the copy, @Pa');
  await admin.waitForSelector('ul.mentions li[role=option]:has-text("Pat Manager")', { timeout: 5000 });
  await admin.keyboard.press('Enter');
  const typed = await admin.inputValue('#f-body');
  check(typed.endsWith('@Pat Manager '), `the completion did not insert the mention: ${typed}`);
  await admin.keyboard.type('before **noon**');
  await snap(admin, 'alpha-comment-mention');
  await admin.click('button:has-text("Post comment")');
  await admin.waitForURL(/#comment-/);
  const posted = await admin.textContent('ol.comments');
  check(posted.includes('Please check the copy, @Pat Manager before noon'), `the comment is not shown: ${posted}`);
  check(await admin.isVisible('ol.comments strong:has-text("noon")'), 'the Markdown was not rendered');
  await pat.waitForFunction((n) => parseInt(document.querySelector('a.bell .count').textContent || '0', 10) === n + 1, before, { timeout: 5000 });
  await pat.goto(url(brands.alpha, '/notifications'));
  check((await pat.textContent('main')).includes('mentioned you in the task \u201cSecond card\u201d'), 'the mention is not listed');
  const mentionLink = await pat.getAttribute('main a[href*="#comment-"]', 'href');
  check(mentionLink && mentionLink.includes(`/tasks/${ids.task}#comment-`), `the notification does not link to the comment: ${mentionLink}`);
  await pat.goto(url(brands.alpha, mentionLink));
  check(await pat.isVisible(`li.comment#${mentionLink.split('#')[1]}`), 'the linked comment is not on the page');
  await snap(pat, 'alpha-mentioned-comment');
  let mentionMail;
  for (let i = 0; i < 150 && !mentionMail; i += 1) {
    mentionMail = mails().find((m) => m.to.includes('pat@alpha.localhost') && m.text.includes('mentioned you'));
    if (!mentionMail) await new Promise((r) => setTimeout(r, 200));
  }
  check(mentionMail, 'no mention mail reached Pat');
  check(mentionMail.text.includes('#comment-'), `the mention mail does not link to the comment: ${mentionMail.text}`);

  // 2. Cleo writes to the agency from the portal; the admin's open page shows it live.
  const messages = url(brands.alpha, `/projects/${ids.shop}/messages`);
  await admin.goto(messages);
  await cleo.goto(url(brands.alpha, `/projects/${ids.shop}`));
  await cleo.click('nav.tabs >> text=Messages');
  await cleo.fill('#f-body', 'Could the shop open in **May**?');
  await cleo.click('button:has-text("Send message")');
  await cleo.waitForURL(/\/messages#comment-/);
  await admin.waitForSelector('ol.comments li.comment:has-text("Could the shop open in")', { timeout: 5000 });
  check(await admin.isVisible('ol.comments li.comment strong:has-text("May")'), 'the live message lost its Markdown');
  await snap(admin, 'alpha-client-message-live');
  await snap(cleo, 'alpha-portal-messages');

  // 3. Team chat: the admin opens a channel and writes twice while Pat looks at his list.
  await admin.goto(url(brands.alpha, '/chat'));
  await admin.fill('#f-name', 'studio');
  await admin.click('button:has-text("Open channel")');
  await admin.waitForURL(/\/chat\/[0-9a-f]+$/);
  const channel = admin.url().split('/chat/')[1];
  await pat.goto(url(brands.alpha, '/chat'));
  for (const text of ['Morning!', 'Stand-up in five']) {
    await admin.fill('#f-body', text);
    await admin.click('button:has-text("Send")');
    await admin.waitForURL(/#message-/);
  }
  const countOf = `nav.channels li[data-channel="${channel}"] .count`;
  await pat.waitForFunction((sel) => document.querySelector(sel) && document.querySelector(sel).textContent === '2', countOf, { timeout: 5000 });
  await snap(pat, 'alpha-chat-unread');
  await pat.click(`nav.channels a[href="/chat/${channel}"]`);
  const room = await pat.textContent('ol.comments');
  check(room.includes('Morning!') && room.includes('Stand-up in five'), `the channel does not show the messages: ${room}`);
  check(await pat.isHidden(countOf), 'the opened channel still counts unread messages');
  // With the channel open, a new message appears and is read at once.
  await admin.fill('#f-body', 'Coffee?');
  await admin.click('button:has-text("Send")');
  await pat.waitForSelector('ol.comments li:has-text("Coffee?")', { timeout: 5000 });
  await pat.waitForTimeout(500);
  const unread = await pat.evaluate(async () => (await (await fetch('/api/v1/chat/channels')).json()).unread);
  check(unread === 0, `Pat has ${unread} unread after reading everything`);
  await pat.fill('#f-body', 'Yes please');
  await pat.click('button:has-text("Send")');
  await admin.waitForSelector('ol.comments li:has-text("Yes please")', { timeout: 5000 });
  const adminUnread = await admin.evaluate(async () => (await (await fetch('/api/v1/chat/channels')).json()).unread);
  check(adminUnread === 0, `the admin has ${adminUnread} unread with the channel open`);
  await snap(pat, 'alpha-chat');

  // 4. The header's search box finds the comment, its word marked; a client does not.
  await pat.fill('form.search input[name=q]', 'copy');
  await pat.press('form.search input[name=q]', 'Enter');
  await pat.waitForURL(/\/search\?q=copy/);
  const results = await pat.textContent('ol.results');
  check(results.includes('Second card') && results.includes('Please check the copy'), `the search does not find the comment: ${results}`);
  check(await pat.isVisible('ol.results mark:has-text("copy")'), 'the matched word is not marked');
  await snap(pat, 'alpha-search');
  await pat.click('ol.results a:has-text("Second card")');
  check(pat.url().includes('#comment-'), `the result does not lead to the comment: ${pat.url()}`);
  await cleo.goto(url(brands.alpha, '/search?q=copy'));
  check(!(await cleo.textContent('main')).includes('Please check the copy'), 'a client finds an internal comment');
});

await flow('an admin sends an invoice and records part of it; the client downloads its PDF and pays the rest through Stripe', async () => {
  const stripeSecret = process.env.TS_STRIPE_SECRET;
  check(stripeSecret, 'TS_STRIPE_SECRET is not set');
  const page = admins.alpha;
  // Stripe (turned on above) gets its webhook signing secret: now clients are offered it.
  await page.goto(url(brands.alpha, '/settings/payments'));
  check((await page.textContent('main')).includes('clients are not offered it'), 'no warning for Stripe without a webhook secret');
  await page.fill('#f-stripe-webhook', stripeSecret);
  await page.click('button:has-text("Save payment settings")');
  const saved = await page.content();
  check(saved.includes('Payment settings saved') && !saved.includes(stripeSecret), 'the webhook secret is not kept masked');
  check(saved.includes('/api/v1/payments/webhooks/stripe'), 'the webhook address is not shown');
  await page.goto(url(brands.alpha, '/settings/invoicing'));
  await page.fill('#f-legal_name', 'Alpha Studio GmbH');
  await page.fill('#f-address', 'Am Hafen 5\n20457 Hamburg');
  await page.click('button:has-text("Save invoicing settings")');
  // A contact who may see and pay invoices (the default switches).
  await page.goto(url(brands.alpha, '/clients'));
  await page.click('a:has-text("Northwind Traders")');
  await page.fill('#f-contact-name', 'Ivy Accounts');
  await page.fill('#f-contact-email', 'ivy@alpha.localhost');
  await page.click('button:has-text("Add and invite contact")');
  const ivy = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await setPassword(ivy, 'ivy@alpha.localhost', 'alpha-ivy');
  await signIn(ivy, brands.alpha, 'ivy@alpha.localhost', 'alpha-ivy');

  // A project of the company the invoice is for.
  await page.goto(url(brands.alpha, '/projects'));
  await page.click('summary:has-text("New project")');
  await page.fill('#f-name', 'Northwind homepage');
  await page.selectOption('#f-company', { label: 'Northwind Traders' });
  await page.click('button:has-text("Create project")');
  await page.waitForURL(/\/projects\/[^/?]+\?done=created/);

  // The draft: two lines, the second added without JavaScript.
  await page.goto(url(brands.alpha, '/invoices/new'));
  await page.selectOption('#f-company', { label: 'Northwind Traders' });
  await page.selectOption('#f-project', { label: 'Northwind homepage (Northwind Traders)' });
  await page.fill('input[name="line.0.description"]', 'Homepage design');
  await page.fill('input[name="line.0.quantity"]', '1');
  await page.fill('input[name="line.0.unit_price"]', '1000');
  await page.fill('input[name="line.0.tax_rate"]', '19');
  await page.click('button:has-text("Add a line")');
  await page.fill('input[name="line.1.description"]', 'Hosting, months');
  await page.fill('input[name="line.1.quantity"]', '3');
  await page.fill('input[name="line.1.unit_price"]', '33.33');
  await page.fill('input[name="line.1.tax_rate"]', '19');
  // With JavaScript the totals follow the typing, by the server's rule (tax rounded once
  // per rate: 19 % of 1099.99 is 208.9981, so 209.00).
  await page.waitForFunction(() => (document.getElementById('live-totals')?.textContent || '').includes('1308.99'));
  const live = await page.textContent('#live-totals');
  check(live.includes('Tax 19 % of 1099.99 EUR') && live.includes('209.00 EUR'), `the live totals are not the server's: ${live}`);
  check((await page.textContent('tbody tr:nth-child(2) [data-net]')).trim() === '99.99', 'the second line\'s live net is not 99.99');
  await page.fill('input[name="line.1.quantity"]', '3.12345');
  await page.waitForFunction(() => document.querySelector('tbody tr:nth-child(2) [data-net]').textContent === '?');
  await page.fill('input[name="line.1.quantity"]', '3');
  await snap(page, 'alpha-invoice-editor');
  await page.click('button:has-text("Save draft")');
  await page.waitForURL(/\/invoices\/[^/?]+\?done=saved/);
  const invoicePath = new URL(page.url()).pathname;
  // 1000.00 + 99.99 net, 209.00 tax (19 % of 1099.99 is 208.9981, rounded once): 1308.99.
  check((await page.textContent('main')).includes("1308.99"), `the draft's total is not 1308.99: ${await page.textContent('main')}`);
  check((await page.textContent('main')).includes('Project: Northwind homepage'), 'the draft does not name its project');
  await page.click('button:has-text("Send invoice")');
  await page.waitForURL(/\?done=sent/);
  const number = (await page.textContent('h1')).match(/\d{4}-\d{4}/);
  check(number, `the sent invoice has no number: ${await page.textContent('h1')}`);
  await page.fill('#f-amount', '308.99');
  await page.selectOption('#f-method', 'bank_transfer');
  await page.fill('#f-reference', 'NW-2026-17');
  await page.click('button:has-text("Record payment")');
  await page.waitForURL(/\?done=paid/);
  check((await page.textContent('h1')).includes('partially paid'), `not partly paid: ${await page.textContent('h1')}`);
  await snap(page, 'alpha-invoice-partly-paid');

  // The client: the invoice in the portal, its PDF, "Pay now".
  await ivy.goto(url(brands.alpha, '/invoices'));
  await snap(ivy, 'alpha-ivy-invoices');
  await ivy.click(`a:has-text("${number[0]}")`);
  const [download] = await Promise.all([ivy.waitForEvent('download'), ivy.click('a:has-text("Download PDF")')]);
  const pdf = path.join(shots, `invoice-${number[0]}.pdf`);
  await download.saveAs(pdf);
  check(fs.readFileSync(pdf).subarray(0, 5).toString() === '%PDF-', 'the download is not a PDF');
  const text = execFileSync('pdftotext', ['-layout', pdf, '-']).toString();
  check(text.includes(number[0]) && text.includes("1308.99") && text.includes('1000.00'), `the PDF lacks the number, total or what is left: ${text}`);
  execFileSync('pdftoppm', ['-png', '-r', '60', '-singlefile', pdf, path.join(shots, `invoice-${number[0]}`)]);
  const portal = await ivy.textContent('main');
  check(portal.includes('Pay 1000.00 EUR now'), `no "Pay now" for the rest: ${portal}`);
  check(!portal.includes('History') && !portal.includes('Record a payment'), 'the client sees staff-only parts');
  await snap(ivy, 'alpha-ivy-invoice');
  await ivy.click('button:has-text("Pay now with Stripe")');
  // A page that moves on to the provider by itself (a link too, for when it does not).
  await ivy.waitForURL(/127\.0\.0\.1:\d+\/pay\//);
  check((await ivy.textContent('h1')).includes('EUR 1000.00'), `the provider's page asks for ${await ivy.textContent('h1')}`);
  await snap(ivy, 'stand-in-stripe-checkout');
  await ivy.click('button:has-text("Pay")');
  await ivy.waitForURL(/payment=returned/);
  check((await ivy.textContent('main')).includes('being confirmed'), 'no word on the payment being confirmed');
  // Paid once the webhook came (the page shows it on the next load).
  let status = '';
  for (let i = 0; i < 50 && !status.includes('paid') ; i += 1) {
    await ivy.goto(url(brands.alpha, invoicePath));
    status = await ivy.textContent('h1');
    if (status.includes('partially')) status = '';
    if (!status) await new Promise((r) => setTimeout(r, 200));
  }
  check(status.includes('paid') && !status.includes('partially'), `the invoice did not become paid: ${status}`);
  check(!(await ivy.textContent('main')).includes('Pay now'), 'a paid invoice still offers "Pay now"');
  await snap(ivy, 'alpha-ivy-invoice-paid');
  await page.goto(url(brands.alpha, invoicePath));
  const history = await page.textContent('main');
  check(history.includes('1000.00 EUR received') && history.includes('Stripe'), `the history lacks the online payment: ${history}`);
  await snap(page, 'alpha-invoice-paid-history');
});

await flow('an admin sets up a recurring invoice, sees its schedule, pauses and ends it', async () => {
  const page = admins.alpha;
  await page.goto(url(brands.alpha, '/invoices'));
  await page.click('a:has-text("Recurring invoices")');
  check((await page.textContent('main')).includes('No recurring invoice yet'), 'the empty list does not say so');
  await page.click('a:has-text("New recurring invoice")');
  await page.selectOption('#f-company', { label: 'Northwind Traders' });
  await page.selectOption('#f-frequency', 'quarterly');
  await page.fill('#f-next_on', '2099-01-31');
  // A first date in the past is refused at its field, and what was typed stays.
  await page.fill('input[name="line.0.description"]', 'Hosting and care');
  await page.fill('input[name="line.0.quantity"]', '1');
  await page.fill('input[name="line.0.unit_price"]', '250');
  await page.fill('input[name="line.0.tax_rate"]', '19');
  await page.fill('#f-next_on', '2001-01-01');
  await page.click('button:has-text("Save recurring invoice")');
  check(await page.isVisible('#f-next_on-error'), 'a past first date has no error at its field');
  check((await page.inputValue('input[name="line.0.description"]')) === 'Hosting and care', 'the typed line was lost');
  await page.fill('#f-next_on', '2099-01-31');
  await page.check('input[name="send"]');
  await page.click('button:has-text("Save recurring invoice")');
  await page.waitForURL(/\/invoices\/recurring\/[^/?]+\?done=saved/);
  let main = await page.textContent('main');
  check(main.includes('Every three months') && main.includes('Hosting and care') && main.includes('is sent at once'), `the schedule is not shown as saved: ${main}`);
  await snap(page, 'alpha-recurring-invoice');
  await page.selectOption('#f-status', 'paused');
  await page.click('button:has-text("Save changes")');
  await page.waitForURL(/done=changed/);
  check((await page.textContent('h1')).includes('paused'), 'the schedule is not paused');
  await page.click('button:has-text("End recurring invoice")');
  await page.waitForURL(/\/invoices\/recurring\?done=ended/);
  main = await page.textContent('main');
  check(main.includes('ended') && main.includes('Northwind Traders'), `the list does not show it ended: ${main}`);
  await snap(page, 'alpha-recurring-invoices');
});

await browser.close();
console.log(`${failures.length ? 'FAILED' : 'passed'}: ${failures.length} of ${flows} flows failed; screenshots in ${shots}`);
process.exit(failures.length ? 1 : 0);
