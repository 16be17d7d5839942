// Starts workers that fire calls at a server which answers slowly, then
// terminates them with the calls in flight, 25 rounds. Exit 0 = survived.
'use strict'
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads')
const http = require('node:http')
const path = require('node:path')

if (isMainThread) {
  const server = http.createServer((req, res) => {
    setTimeout(() => { res.end('{"Code":"OK"}') }, 20 + Math.random() * 40)
  })
  server.listen(0, '127.0.0.1', async () => {
    const url = `http://127.0.0.1:${server.address().port}`
    for (let round = 0; round < 25; round++) {
      const workers = Array.from({ length: 4 }, () => new Worker(__filename, { workerData: { url } }))
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))))
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 30))
      await Promise.all(workers.map((w) => w.terminate()))
    }
    console.log('survived 25 rounds')
    server.closeAllConnections()
    server.close()
  })
} else {
  const PLSClient = require(path.join(__dirname, '..', '..', 'index.js'))
  const client = new PLSClient({ accessKeyId: 'id', secretAccessKey: 's', endpoint: workerData.url })
  // 50 calls always in flight: each one that settles starts the next.
  const one = () => client.bindAxb({ PhoneNoA: '1', PhoneNoB: '2', Expiration: '3' }).then(one, one)
  for (let i = 0; i < 50; i++) one()
  parentPort.postMessage('firing')
}
