// The emulator console in a real browser: headless Chromium (the system's,
// no browser download) driven by playwright-core. Runs when
// PLS_TEST_BROWSER=1; PLS_CHROMIUM overrides the browser's path, and
// PLS_CONSOLE_SCREENSHOT=<file> also writes the screenshot there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import http from 'node:http'
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
  const servers = []
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

    // A screenshot that is not blank: the right size, many colours, and a
    // first screen mostly not background (measured on the viewport, so the
    // panels further down, which grow with the receipt types, do not dilute it).
    const png = await page.screenshot({ fullPage: true })
    const image = decodePng(png)
    assert.equal(image.width, 1360)
    assert.ok(image.height >= 1000, `height ${image.height}`)
    const { colours } = colourStats(image)
    assert.ok(colours > 200, `only ${colours} distinct colours`)
    const { nonBackground } = colourStats(decodePng(await page.screenshot()))
    assert.ok(nonBackground > 0.2, `only ${(nonBackground * 100).toFixed(1)}% of the first screen differs from the background`)
    fs.writeFileSync(path.join(profile, 'console.png'), png)
    if (process.env.PLS_CONSOLE_SCREENSHOT) fs.writeFileSync(process.env.PLS_CONSOLE_SCREENSHOT, png)

    // Call receipts pushed to an app instead: the first push fails, the
    // retry after the clock moves on is delivered; both show in the panel.
    const handled = []
    let failFirst = true
    const app = http.createServer(PLSClient.receiptListener((r, type) => {
      if (failFirst) {
        failFirst = false
        throw new Error('not ready')
      }
      handled.push([type, r.call_id])
    }))
    await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve))
    servers.push(app)
    const hook = `http://127.0.0.1:${app.address().port}/receipts`
    await page.selectOption('#push-form select[name="type"]', 'SecretReport')
    await page.fill('#push-form input[name="url"]', hook)
    await page.click('#push-form button[type="submit"]')
    await page.waitForSelector('#push-settings [data-push-type="SecretReport"]', WAIT)
    await page.click('#call-form button[type="submit"]')
    await page.waitForFunction((id) => {
      const result = document.querySelector('#call-result')
      return result && result.dataset.callId && result.dataset.callId !== id
    }, callId, WAIT)
    const pushedCall = await page.getAttribute('#call-result', 'data-call-id')
    const pushRow = `#pushes tr[data-type="SecretReport"][data-call-id="${pushedCall}"]`
    await page.waitForSelector(`${pushRow}[data-outcome="failed"][data-attempt="1"]`, WAIT)
    assert.match(await page.textContent(`${pushRow}[data-attempt="1"]`), /HTTP 500/)
    await page.click('[data-advance="3600"]')
    await page.waitForSelector(`${pushRow}[data-outcome="delivered"][data-attempt="2"]`, WAIT)
    assert.deepEqual(handled, [['SecretReport', pushedCall]])
    assert.equal(await page.$(`#log tr[data-kind="push"]`), null, 'pushes have their own panel')

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
    for (const server of servers) {
      server.closeAllConnections()
      server.close()
    }
    fs.rmSync(profile, { recursive: true, force: true })
    await emu.stop()
  }
})
