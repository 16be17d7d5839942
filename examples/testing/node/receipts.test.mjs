// node:test: receipts and faults, in a file that runs beside bindings.test.mjs.
import { test, before, beforeEach, after } from 'node:test'
import assert from 'node:assert/strict'
import { startTestEmulator } from 'pls-native/testing'
import { maskOrder } from '../order-privacy.js'

let emu
before(async () => {
  emu = await startTestEmulator({ clock: '2018-08-01 00:00:00' })
})
beforeEach(() => emu.reset())
after(() => emu.stop())

test('a call through the middle number reaches the driver and is reported', async () => {
  const { secretNo } = await maskOrder('order-1', '13800000001', '13900000002')
  assert.equal(secretNo, '17000000000')
  await emu.call({ caller: '13800000001', secretNo, durationSeconds: 42 })
  const report = await emu.nextReceipt('SecretReport')
  assert.equal(report.peer_no, '13900000002')
  assert.equal(report.out_id, 'order-1')
})

test('a flow limit is retried by the client, as the request log shows', async () => {
  await emu.fault({ kind: 'flowLimit', action: 'BindAxb' })
  await maskOrder('order-2', '13800000001', '13900000002')
  const sent = await emu.requests({ action: 'BindAxb' })
  assert.deepEqual(sent.map((r) => r.code), ['OK', 'isv.FLOW_LIMIT'])
})
