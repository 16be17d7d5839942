// The files generated from the API description must match what the
// generator writes now: a stale one fails here (fix: npm run generate).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { typecheck } from './support/typescript.mjs'

const require = createRequire(import.meta.url)
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const { render, snake } = require('../scripts/generate-api.js')

test('generated files are up to date with the API description', () => {
  const files = render()
  assert.equal(Object.keys(files).length, 4)
  for (const [file, content] of Object.entries(files)) {
    const onDisk = fs.readFileSync(path.join(root, file), 'utf8')
    assert.ok(onDisk === content, `${file} is stale: run npm run generate`)
  }
})

test('a changed description changes the generated files', () => {
  const api = JSON.parse(fs.readFileSync(path.join(root, 'api/dyplsapi-2017-05-25.json'), 'utf8'))
  api.actions.push({ name: 'PingX', method: 'pingX', summary: 'Pings X.', params: [{ name: 'TelX', type: 'string', required: true }], response: [] })
  const files = render(api)
  assert.match(files['src/methods_generated.rs'], /#\[napi\(js_name = "pingX"\)\]\n    pub fn ping_x\(/)
  assert.match(files['crates/pls-core/src/actions_generated.rs'], /name: "PingX", required: &\["TelX"\]/)
  assert.match(files['crates/pls-emulator/src/actions/catalog_generated.rs'], /\("PingX", &\["TelX"\]\)/)
  assert.match(files['api.d.ts'], /pingX\(params: PingXRequest, options\?: Options\): Promise<PingXResponse>/)
})

test('method names become distinct snake-case Rust names', () => {
  assert.equal(snake('bindAXBCall'), 'bind_axb_call')
  assert.equal(snake('getDyplsOSSInfoForUploadFile'), 'get_dypls_oss_info_for_upload_file')
  assert.equal(snake('unbindSubs700'), 'unbind_subs700')
  assert.equal(snake('bindXB'), 'bind_xb')
})

test('the typings compile and type the generated methods', (t) => {
  const result = typecheck(t, [
    `import PLSClient = require(${JSON.stringify(path.join(root, 'index.js'))})`,
    `const c = new PLSClient({ accessKeyId: 'a', secretAccessKey: 'b' })`,
    `async function f(): Promise<string | undefined> {`,
    `  const r = await c.bindAxg({ PhoneNoA: '1', GroupId: 1, Expiration: 'e' }, { method: 'POST' })`,
    `  const s = await c.querySecretNoRemain({ City: 'c', SpecId: 1 })`,
    `  const n: number | undefined = s.SecretRemainDTO?.Amount`,
    `  void n`,
    `  return r.SecretBindDTO?.SecretNo`,
    `}`,
    `void f`,
    `// @ts-expect-error GroupId is required`,
    `void c.bindAxg({ PhoneNoA: '1', Expiration: 'e' })`,
  ], root)
  if (result) assert.equal(result.status, 0, result.output)
})
