// Jest: receipts and faults, in a file that runs beside bindings.test.js.
const { startTestEmulator } = require('pls-native/testing')
const { maskOrder } = require('../order-privacy.js')

let emu
beforeAll(async () => {
  emu = await startTestEmulator({ clock: '2018-08-01 00:00:00' })
})
beforeEach(() => emu.reset())
afterAll(() => emu.stop())

test('a call through the middle number reaches the driver and is reported', async () => {
  const { secretNo } = await maskOrder('order-1', '13800000001', '13900000002')
  expect(secretNo).toBe('17000000000')
  await emu.call({ caller: '13800000001', secretNo, durationSeconds: 42 })
  const report = await emu.nextReceipt('SecretReport')
  expect(report).toMatchObject({ peer_no: '13900000002', out_id: 'order-1' })
})

test('a flow limit is retried by the client, as the request log shows', async () => {
  await emu.fault({ kind: 'flowLimit', action: 'BindAxb' })
  await maskOrder('order-2', '13800000001', '13900000002')
  const sent = await emu.requests({ action: 'BindAxb' })
  expect(sent.map((r) => r.code)).toEqual(['OK', 'isv.FLOW_LIMIT'])
})
