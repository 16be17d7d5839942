// node:test: one emulator for this file, reset before each test.
//   node --test examples/testing/node/*.test.mjs
import { test, before, beforeEach, after } from 'node:test'
import assert from 'node:assert/strict'
import { startTestEmulator } from 'pls-native/testing'
import { maskOrder, releaseOrder } from '../order-privacy.js'

let emu
before(async () => {
  emu = await startTestEmulator({ clock: '2018-08-01 00:00:00' })
})
beforeEach(() => emu.reset())
after(() => emu.stop())

test('an order gets a binding of its own', async () => {
  const order = await maskOrder('order-1', '13800000001', '13900000002')
  // Files running beside this one bind the same numbers in their own emulator.
  assert.equal(order.secretNo, '17000000000')
  const [binding, ...others] = await emu.bindings({ active: true })
  assert.deepEqual(others, [])
  assert.equal(binding.outId, 'order-1')

  const [sent] = await emu.requests({ action: 'BindAxb' })
  assert.equal(sent.params.PhoneNoA, '13800000001')
  assert.equal(sent.params.Signature, '***')
  assert.equal(sent.code, 'OK')
})

test('a released order leaves no live binding, and an expired one neither', async () => {
  await releaseOrder(await maskOrder('order-2', '13800000001', '13900000002'))
  await maskOrder('order-3', '13800000003', '13900000004')
  assert.equal((await emu.bindings({ active: true })).length, 1)
  await emu.setClock('2018-08-01 12:00:01')
  assert.deepEqual(await emu.bindings({ active: true }), [])
})
