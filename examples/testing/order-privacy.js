'use strict'
// The code under test: an order service that hides the phone numbers of a
// ride's rider and driver behind a middle number. It knows nothing of the
// emulator: its client finds the service through PLS_ENDPOINT, which
// pls-native/testing sets for the tests.
const PLSClient = require('pls-native')

const POOL_KEY = 'FC100000xxxxxx'

function client() {
  return new PLSClient({ accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' })
}

/** Binds rider and driver for an order; resolves with the number both dial. */
async function maskOrder(orderId, rider, driver, expiration = '2018-08-01 12:00:00') {
  const reply = await client().bindAxb({
    PoolKey: POOL_KEY,
    PhoneNoA: rider,
    PhoneNoB: driver,
    Expiration: expiration,
    OutId: orderId,
  })
  return { subsId: reply.SecretBindDTO.SubsId, secretNo: reply.SecretBindDTO.SecretNo }
}

/** Ends an order's binding. */
async function releaseOrder({ subsId, secretNo }) {
  await client().unbindSubscription({ PoolKey: POOL_KEY, SubsId: subsId, SecretNo: secretNo })
}

module.exports = { maskOrder, releaseOrder }
