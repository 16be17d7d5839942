// Vitest: one emulator for this file, reset before each test.
//   npx vitest run --config examples/testing/vitest.config.mjs
import { test, expect, beforeAll, beforeEach, afterAll } from 'vitest'
import { startTestEmulator } from 'pls-native/testing'
import { maskOrder, releaseOrder } from '../order-privacy.js'

let emu
beforeAll(async () => {
  emu = await startTestEmulator({ clock: '2018-08-01 00:00:00' })
})
beforeEach(() => emu.reset())
afterAll(() => emu.stop())

test('an order gets a binding of its own', async () => {
  const order = await maskOrder('order-1', '13800000001', '13900000002')
  // Files running beside this one bind the same numbers in their own emulator.
  expect(order.secretNo).toBe('17000000000')
  const bindings = await emu.bindings({ active: true })
  expect(bindings).toHaveLength(1)
  expect(bindings[0].outId).toBe('order-1')

  const [sent] = await emu.requests({ action: 'BindAxb' })
  expect(sent.params).toMatchObject({ PhoneNoA: '13800000001', Signature: '***' })
  expect(sent.code).toBe('OK')
})

test('a released order leaves no live binding, and an expired one neither', async () => {
  await releaseOrder(await maskOrder('order-2', '13800000001', '13900000002'))
  await maskOrder('order-3', '13800000003', '13900000004')
  expect(await emu.bindings({ active: true })).toHaveLength(1)
  await emu.setClock('2018-08-01 12:00:01')
  expect(await emu.bindings({ active: true })).toEqual([])
})
