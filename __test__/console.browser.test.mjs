// The emulator console in a real browser: headless Chromium (the system's,
// no browser download) driven by playwright-core. Runs when
// PLS_TEST_BROWSER=1; PLS_CHROMIUM overrides the browser's path, and
// PLS_CONSOLE_SCREENSHOT=<file> also writes the screenshot there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { decodePng, colourStats } from './support/png.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')

const enabled = process.env.PLS_TEST_BROWSER === '1'
const skip = enabled ? false : 'browser test: set PLS_TEST_BROWSER=1 (needs Chromium at /usr/bin/chromium and playwright-core)'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const POOL = 'FC100000xxxxxx'
const A = '18040580000'
const B = '13871140000'
const WAIT = { timeout: 15_000 }

test('the console shows SDK bindings live, places calls, shows receipts and expiry', { skip }, async () => {
  const { chromium } = require('playwright-core')
  const emu = await startEmulator({ clock: '2018-08-01 00:00:00' })
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pls-console-'))
  let context
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.PLS_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      locale: 'en-US',
      viewport: { width: 1360, height: 1000 },
    })
    const page = context.pages()[0] || (await context.newPage())
    const pageErrors = []
    page.on('pageerror', (err) => pageErrors.push(err))
    await page.goto(`${emu.url}/__emulator/`)
    await page.waitForSelector('#live[data-live="on"]', WAIT)
    assert.equal(await page.textContent('h1'), 'Number privacy emulator', 'English from the browser language')

    // A binding made through the SDK appears without a reload.
    const client = new PLSClient({
      accessKeyId: 'yourAccessKeyId',
      secretAccessKey: 'yourAccessKeySecret',
      endpoint: emu.url,
      dybaseEndpoint: emu.url,
      mnsEndpoint: emu.url,
    })
    const bound = await client.bindAxb({ PoolKey: POOL, PhoneNoA: A, PhoneNoB: B, Expiration: '2018-08-05 12:00:00' })
    const { SubsId: subsId, SecretNo: x } = bound.SecretBindDTO
    const row = `#bindings tr[data-subs-id="${subsId}"]`
    await page.waitForSelector(`${row}[data-status="active"]`, WAIT)
    const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent))
    assert.deepEqual(cells.slice(0, 5), [subsId, 'AXB', A, B, x])
    assert.match(cells[8], /^4d \d\d:\d\d:\d\d$/, `a countdown to the expiry: ${cells[8]}`)
    await client.bindAxn({ PoolKey: POOL, PhoneNoA: '13100000001', Expiration: '2018-08-02 09:30:00' })

    // The request log shows what the SDK sent, newest first, its signature masked.
    const sent = '#requests tr[data-action="BindAxb"][data-code="OK"]'
    await page.waitForSelector(sent, WAIT)
    await page.waitForSelector('#requests tr[data-action="BindAxn"]', WAIT)
    const actions = await page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => tr.dataset.action))
    assert.deepEqual(actions, ['BindAxn', 'BindAxb'])
    const sentCells = await page.$$eval(`${sent} td`, (tds) => tds.map((td) => td.textContent))
    assert.deepEqual(sentCells.slice(1, 6), ['BindAxb', 'HMAC-SHA1', 'yourAccessKeyId', 'OK', '200'])
    await page.click(`${sent} summary`)
    const shown = await page.textContent(`${sent} pre`)
    assert.match(shown, /"Signature": "\*\*\*"/)
    assert.match(shown, new RegExp(`"PhoneNoA": "${A}"`))
    assert.ok(!shown.includes('yourAccessKeySecret'), 'no secret on the page')

    // A call placed from the page reaches the queue panel as its receipt.
    await page.click(`${row} button`)
    assert.equal(await page.inputValue('#call-form input[name="caller"]'), A)
    assert.equal(await page.inputValue('#call-form select[name="secretNo"]'), x)
    await page.click('#call-form button[type="submit"]')
    await page.waitForSelector('#call-result[data-call-id]', WAIT)
    const callId = await page.getAttribute('#call-result', 'data-call-id')
    const receipt = `.queue[data-type="SecretReport"] tr[data-call-id="${callId}"]`
    await page.waitForSelector(`${receipt}[data-dequeue-count="0"][data-visible="true"]`, WAIT)
    assert.match(await page.textContent(receipt), new RegExp(`${A} → ${B}`))
    await page.waitForSelector(`#log tr[data-call-id="${callId}"]`, WAIT)
    assert.match(await page.textContent(`#log tr[data-call-id="${callId}"]`), new RegExp(`${A}.*${x}.*${B}.*answered.*${subsId}`))

    // And an SMS from B through X.
    await page.fill('#sms-form input[name="sender"]', B)
    await page.selectOption('#sms-form select[name="secretNo"]', x)
    await page.fill('#sms-form input[name="content"]', 'See you at 3')
    await page.click('#sms-form button[type="submit"]')
    await page.waitForSelector('#log tr[data-kind="sms"]', WAIT)
    assert.match(await page.textContent('#log tr[data-kind="sms"]'), new RegExp(`${B}.*${x}.*${A}.*delivered`))

    // The SDK receives the receipt: the panel shows it in flight, dequeued once.
    const received = await client.receiveMsg(0, 'Alicom-Queue-1234567890-SecretReport', 1)
    assert.equal(PLSClient.decodeMessage(received.body).call_id, callId)
    await page.waitForSelector(`${receipt}[data-dequeue-count="1"][data-visible="false"]`, WAIT)

    // A screenshot that is not blank: the right size, many colours, mostly not background.
    const png = await page.screenshot({ fullPage: true })
    const image = decodePng(png)
    assert.equal(image.width, 1360)
    assert.ok(image.height >= 1000, `height ${image.height}`)
    const { colours, nonBackground } = colourStats(image)
    assert.ok(colours > 200, `only ${colours} distinct colours`)
    assert.ok(nonBackground > 0.2, `only ${(nonBackground * 100).toFixed(1)}% of the pixels differ from the background`)
    fs.writeFileSync(path.join(profile, 'console.png'), png)
    if (process.env.PLS_CONSOLE_SCREENSHOT) fs.writeFileSync(process.env.PLS_CONSOLE_SCREENSHOT, png)

    // Past the expiry on the business clock, the binding shows as expired.
    await page.fill('#clock-set-form input[name="now"]', '2018-08-06 00:00:00')
    await page.click('#clock-set-form button[type="submit"]')
    await page.waitForSelector(`${row}[data-status="expired"]`, WAIT)
    assert.match(await page.textContent('#clock'), /^2018-08-06 00:0/)
    assert.equal(await page.textContent(`${row} .countdown`), '—')

    // Advancing works too (the AXN binding expired long before; both are expired now).
    await page.click('[data-advance="86400"]')
    await page.waitForFunction(() => document.querySelector('#clock').textContent.startsWith('2018-08-07'), null, WAIT)

    // Chinese on request, remembered for the next visit.
    await page.click('#lang')
    assert.equal(await page.textContent('h1'), '号码隐私保护模拟器')
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN')
    assert.equal(await page.textContent(`${row} .status`), '已过期')
    await page.reload()
    await page.waitForSelector('#live[data-live="on"]', WAIT)
    assert.equal(await page.textContent('h1'), '号码隐私保护模拟器')

    // Reset empties bindings, the log and the request log.
    await page.click('#reset')
    await page.waitForSelector('#bindings tr.empty', WAIT)
    await page.waitForSelector('#log tr.empty', WAIT)
    await page.waitForSelector('#requests tr.empty', WAIT)

    // With no choice stored, a Chinese browser gets Chinese.
    await page.evaluate(() => localStorage.clear())
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'language', { get: () => 'zh-CN' }))
    await page.reload()
    await page.waitForSelector('#live[data-live="on"]', WAIT)
    assert.equal(await page.textContent('h1'), '号码隐私保护模拟器')
    assert.deepEqual(pageErrors, [], 'no script errors on the page')
  } finally {
    if (context) await context.close()
    fs.rmSync(profile, { recursive: true, force: true })
    await emu.stop()
  }
})
