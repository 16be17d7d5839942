// Every action of the API description as a typed PLSClient method, run
// through pls-native against the emulator, family by family; plus the
// synchronous required-key checks of every generated method.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { settle } from './support/settle.mjs'

const require = createRequire(import.meta.url)
const PLSClient = require('../index.js')
const { startEmulator } = require('../emulator.js')

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const api = JSON.parse(fs.readFileSync(path.join(root, 'api/dyplsapi-2017-05-25.json'), 'utf8'))

const KEYS = { accessKeyId: 'yourAccessKeyId', secretAccessKey: 'yourAccessKeySecret' }
const POOL = 'FC100000xxxxxx'
const CLOCK = '2018-08-01 00:00:00'
const LATER = '2018-08-05 12:00:00'
const TS = '20180801000000000'

let emu
let client
/** Actions that answered OK at least once. */
const succeeded = new Set()

before(async () => {
  emu = await startEmulator({ clock: CLOCK })
  const raw = new PLSClient({ ...KEYS, endpoint: emu.url, dybaseEndpoint: emu.url, mnsEndpoint: emu.url })
  // Records each method's success, so the last test can say none was left out.
  client = new Proxy(raw, {
    get(target, name) {
      const value = target[name]
      if (typeof value !== 'function') return value
      return async (...args) => {
        const reply = await value.apply(target, args)
        if (reply && reply.Code === 'OK') succeeded.add(name)
        return reply
      }
    },
  })
})
after(async () => {
  await emu.stop()
})

async function rejectsWith(promise, code) {
  const { value, error } = await settle(promise)
  assert.ok(error, `expected ${code}, got ${JSON.stringify(value)}`)
  assert.equal(error.code, code, error.message)
  assert.equal(error.name, `${code}Error`)
  return error
}

async function call(to, from, extra = {}) {
  return emu.control('calls', { caller: from, secretNo: to, ...extra })
}

test('every action of the description is a method, and the nine keep their names', () => {
  assert.equal(api.actions.length, 60)
  for (const action of api.actions) {
    assert.equal(typeof PLSClient.prototype[action.method], 'function', action.method)
  }
  for (const name of ['bindAxg', 'querySecretNoRemain', 'bindAXBCall', 'unBindXB', 'getDyplsOSSInfoForUploadFile', 'bindAxb700']) {
    assert.equal(typeof PLSClient.prototype[name], 'function', name)
  }
})

test('a missing required key throws TypeError synchronously, in order', () => {
  const c = new PLSClient({ ...KEYS, endpoint: 'http://127.0.0.1:9' })
  for (const action of api.actions) {
    const required = action.clientRequired || action.params.filter((p) => p.required).map((p) => p.name)
    if (required.length === 0) continue
    assert.throws(() => c[action.method]({}), { name: 'TypeError', message: `parameter "${required[0]}" is required` }, action.name)
    const all = Object.fromEntries(required.map((k) => [k, 'x']))
    const last = required[required.length - 1]
    assert.throws(
      () => c[action.method]({ ...all, [last]: null }),
      { name: 'TypeError', message: `parameter "${last}" is required` },
      `${action.name}: null counts as missing`,
    )
  }
  // Nothing thrown, a promise returned, when all are there.
  const p = c.bindAxg({ PhoneNoA: '13800000000', GroupId: 1, Expiration: LATER }, { timeout: 200 })
  assert.ok(p instanceof Promise)
  return settle(p)
})

test('the nine originals through their methods', async () => {
  const bound = await client.bindAxb({ PoolKey: POOL, PhoneNoA: '18040580000', PhoneNoB: '13871140000', Expiration: LATER, IsRecordingEnabled: true })
  const { SubsId, SecretNo } = bound.SecretBindDTO
  await client.bindAxn({ PoolKey: POOL, PhoneNoA: '18040580001', Expiration: LATER })
  await client.bindAxnExtension({ PoolKey: POOL, PhoneNoA: '18040580002', Expiration: LATER })
  const bought = await client.buySecretNo({ PoolKey: POOL, SpecId: 1, City: '杭州' })
  await client.releaseSecretNo({ PoolKey: POOL, SecretNo: bought.SecretBuyInfoDTO.SecretNo })
  const placed = await call(SecretNo, '18040580000')
  const url = await client.queryRecordFileDownloadUrl({ CallId: placed.callId, PoolKey: POOL })
  assert.match(url.DownloadUrl, /recordings/)
  await client.updateSubscription({ PoolKey: POOL, SubsId, PhoneNoX: SecretNo, OperateType: 'updateOutId', OutId: 'o1' })
  const detail = await client.querySubscriptionDetail({ PoolKey: POOL, SubsId, PhoneNoX: SecretNo })
  assert.equal(detail.SecretBindDetailDTO.Status, 1)
  await client.unbindSubscription({ PoolKey: POOL, SubsId, SecretNo })
})

test('AXG: groups, binds, batch binds, and calls from the group', async () => {
  const created = await client.createAxgGroup({ PoolKey: POOL, Name: 'riders', Numbers: '13900000001,13900000002' })
  const GroupId = created.GroupId
  assert.equal(typeof GroupId, 'number')
  await client.operateAxgGroup({ PoolKey: POOL, GroupId, OperateType: 'addNumbers', Numbers: '13900000003' })
  const bound = await client.bindAxg({ PoolKey: POOL, PhoneNoA: '13800000010', GroupId, Expiration: LATER })
  const x = bound.SecretBindDTO.SecretNo
  const placed = await call(x, '13900000003')
  // As the service reports it: phone_no is A, peer_no the group member,
  // call_type 1 says the peer called A.
  assert.equal(placed.report.phone_no, '13800000010')
  assert.equal(placed.report.peer_no, '13900000003')
  assert.equal(placed.report.call_type, 1)
  const outsider = await call(x, '13500000000')
  assert.equal(outsider.report.call_type, 4)

  const list = JSON.stringify([
    { PhoneNoA: '13800000011', GroupId: String(GroupId), Expiration: LATER },
    { PhoneNoA: '13800000012', GroupId: String(GroupId), Expiration: '2000-01-01 00:00:00' },
  ])
  const batch = await client.bindBatchAxg({ PoolKey: POOL, AxgBindList: list })
  const items = batch.SecretBindList.SecretBind
  assert.deepEqual(items.map((i) => i.Code), ['OK', 'isv.EXPIRE_DATE_ILLEGAL'])

  await rejectsWith(client.deleteAxgGroup({ PoolKey: POOL, GroupId }), 'isv.INVALID_PARAMETERS')
  const spare = await client.createAxgGroup({ PoolKey: POOL })
  await client.deleteAxgGroup({ PoolKey: POOL, GroupId: spare.GroupId })
  await rejectsWith(client.bindAxg({ PhoneNoA: '13800000013', GroupId: spare.GroupId, Expiration: LATER }), 'isv.INVALID_PARAMETERS')
})

test('numbers: lock, detail, stock, subs id, track numbers', async () => {
  const x = '17000000019'
  await client.lockSecretNo({ PoolKey: POOL, SecretNo: x })
  const locked = await client.querySecretNoDetail({ PoolKey: POOL, SecretNo: x })
  assert.equal(locked.SecretNoInfoDTO.SecretStatus, 2)
  await rejectsWith(client.bindAxb({ PoolKey: POOL, PhoneNoA: '13800000020', PhoneNoB: '13800000021', PhoneNoX: x, Expiration: LATER }), 'isv.NO_AVAILABLE_NUMBER')
  await client.unlockSecretNo({ PoolKey: POOL, SecretNo: x })
  assert.equal((await client.querySecretNoDetail({ PoolKey: POOL, SecretNo: x })).SecretNoInfoDTO.SecretStatus, 1)

  const remain = await client.querySecretNoRemain({ City: '深圳', SpecId: 1 })
  assert.equal(remain.SecretRemainDTO.City, '深圳')
  assert.ok(remain.SecretRemainDTO.Amount > 0)

  const axn = await client.bindAxn({ PoolKey: POOL, PhoneNoA: '13800000022', Expiration: LATER })
  const { SubsId, SecretNo } = axn.SecretBindDTO
  assert.equal((await client.querySubsId({ PhoneNoX: SecretNo, PoolKey: POOL })).SubsId, SubsId)
  // trackNo is spelled in lower camel case by the API; the original's first-letter rule sends TrackNo.
  await client.addAxnTrackNo({ PoolKey: POOL, SubsId, PhoneNoX: SecretNo, trackNo: 'YT9000' })
  const found = await client.queryPhoneNoAByTrackNo({ trackNo: 'YT9000' }, { formatParams: false })
  assert.deepEqual(found.Module, [{ PhoneNoA: '13800000022', PhoneNoX: SecretNo, Extension: '' }])
})

test('blacklist: a refused call says so in its receipt', async () => {
  const bound = await client.bindAxb({ PoolKey: POOL, PhoneNoA: '13800000030', PhoneNoB: '13800000031', Expiration: LATER })
  const x = bound.SecretBindDTO.SecretNo
  await client.addSecretBlacklist({ PoolKey: POOL, BlackType: 'POINT_TO_POINT_BLACK', BlackNo: '13800000030:13800000031', WayControl: 'PHONEB_REJECT' })
  const refused = await call(x, '13800000030')
  assert.equal(refused.report.unconnected_cause, 1)
  assert.equal(refused.report.call_type, 4)
  assert.equal(refused.report.control_type, 'REJECT')
  assert.equal(refused.report.control_msg, 'POINT_TO_POINT_BLACK 13800000030:13800000031')
  const allowed = await call(x, '13800000031')
  assert.equal(allowed.report.unconnected_cause, 0, 'the other direction is open')
  await client.deleteSecretBlacklist({ PoolKey: POOL, BlackType: 'POINT_TO_POINT_BLACK', BlackNo: '13800000030:13800000031' })
  assert.equal((await call(x, '13800000030')).report.unconnected_cause, 0)

  await client.operateBlackNo({ PoolKey: POOL, BlackNo: '13800000031', OperateType: 'AddBlack' })
  assert.equal((await call(x, '13800000031')).report.unconnected_cause, 1)
  await client.operateBlackNo({ PoolKey: POOL, BlackNo: '13800000031', OperateType: 'DeleteBlack' })
  await rejectsWith(client.operateBlackNo({ PoolKey: POOL, BlackNo: '13800000031', OperateType: 'DeleteBlack' }), 'isv.INVALID_PARAMETERS')
})

test('call records: sound record, public urls and ASR of a simulated call', async () => {
  const bound = await client.bindAxb({ PoolKey: POOL, PhoneNoA: '13800000040', PhoneNoB: '13800000041', Expiration: LATER, IsRecordingEnabled: true, ASRStatus: true })
  const placed = await call(bound.SecretBindDTO.SecretNo, '13800000040')
  const CallId = placed.callId
  const sound = await client.querySoundRecord({ CallId, CustomerPoolKey: POOL, ReqId: 'r' })
  assert.match(sound.Data.FileUrl, new RegExp(`${CallId}\\.mp3`))
  const urls = await client.getTotalPublicUrl({ CallId, CallTime: placed.report.call_time, PartnerKey: POOL, CheckSubs: true })
  assert.match(urls.Data.RingPublicUrl, /-ring\.mp3/)
  const asr = await client.getSecretAsrDetail({ CallId, CallTime: placed.report.call_time, PoolKey: POOL })
  assert.equal(asr.Data.Sentences.length, 2)
  await rejectsWith(client.querySoundRecord({ CallId: 'nope', CustomerPoolKey: POOL, ReqId: 'r' }), 'isv.INVALID_PARAMETERS')
})

test('X numbers: bind B, bind each call of A, configure X', async () => {
  const base = { CustomerPoolKey: POOL, ReqId: 'req-1' }
  const x = '17000000018'
  const xb = await client.bindXB({ ...base, TelB: '13800000051', TelX: x })
  assert.equal(xb.Success, true)
  const { AuthId } = xb.Data
  const call1 = await client.bindAXBCall({ ...base, AuthId, TelA: '13800000050', Expiration: 600 })
  assert.equal((await call(x, '13800000050')).report.peer_no, '13800000051')
  await client.unBindAXB({ ...base, BindId: call1.Data.BindId })
  await client.configX({ ...base, TelX: x, SmsAbility: false })
  assert.equal((await client.getXConfig({ ...base, TelX: x })).Data.SmsAbility, 'false')
  assert.equal((await client.getXDefaultConfig({ ...base, TelX: x })).Data.SmsAbility, 'true')
  const listed = await client.listXTelephones({ ReqId: 'r', CustomerPoolKey: POOL, PageSize: 50 })
  assert.ok(listed.Data.List.some((t) => t.Telephone === x && t.AuthMsg === '13800000051'))
  const sign = await client.createSmsSign({ ...base, CallingNo: '13800000050', CalledNo: '13800000051' })
  assert.ok(sign.Data.CalledNoSign)
  await client.unBindXB({ ...base, AuthId, TelX: x })
  await rejectsWith(client.bindAXBCall({ ...base, AuthId, TelA: '13800000050', Expiration: 600 }), 'isv.INVALID_PARAMETERS')
})

test('fixed-line variants: bind, query, update, delete for AXB, AXN and AXN extension', async () => {
  const common = { AppId: POOL, OrderId: 'o-1', Ts: TS }
  const bindBase = { ...common, Subts: TS, BindType: '1', Anucode: '100', Expiration: LATER }
  const axb = await client.bindAxbFixedLine({ ...bindBase, TelA: '01088880001', TelB: '13800000060', Extra: JSON.stringify({ Callrecording: '1' }) })
  const axn = await client.bindAxnFixedLine({ ...bindBase, TelA: '01088880002' })
  const ext = await client.bindAxnExtensionFixedLine({ ...bindBase, TelA: '01088880003' })
  assert.match(ext.Data.TelXext, /^\d{3}$/)
  const q = await client.queryAxbBindFixedLine({ ...common, QueryType: '0', SubId: axb.Data.Subid })
  assert.equal(q.Data.TelB, '13800000060')
  const qn = await client.queryAxnBindFixedLine({ ...common, QueryType: '1', TelX: axn.Data.TelX })
  assert.equal(qn.Data[0].TelA, '01088880002')
  const qe = await client.queryAxnExtensionBindFixedLine({ ...common, QueryType: '2', TelA: '01088880003' })
  assert.equal(qe.Data[0].TelXext, ext.Data.TelXext)
  await client.updateAxbBindFixedLine({ ...common, SubId: axb.Data.Subid, Subts: TS, Remark: 'moved' })
  await client.updateAxnBindFixedLine({ ...common, SubId: axn.Data.Subid, Subts: TS, TelB: '13800000061' })
  await client.updateAxnExtensionBindFixedLine({ ...common, SubId: ext.Data.Subid, Subts: TS, TelA: '01088880004' })
  assert.equal((await client.queryAxbBindFixedLine({ ...common, QueryType: '0', SubId: axb.Data.Subid })).Data.Remark, 'moved')
  await client.deleteAxbBindFixedLine({ ...common, SubId: axb.Data.Subid })
  await client.deleteAxnBindFixedLine({ ...common, SubId: axn.Data.Subid })
  await client.deleteAxnExtensionBindFixedLine({ ...common, SubId: ext.Data.Subid })
  await rejectsWith(client.deleteAxbBindFixedLine({ ...common, SubId: axb.Data.Subid }), 'isv.SUBS_NOT_EXIST')
})

test('700 variants: AXB and GXB bindings, update and unbind', async () => {
  const axb = await client.bindAxb700({ PoolKey: POOL, TelA: '13800000070', TelB: '13800000071', Expiration: LATER })
  const { SubsId, SecretNo } = axb.Data
  await client.updateSubs700({ PoolKey: POOL, SubsId, TelX: SecretNo, OperateType: 'updateExpire', Expiration: '2018-08-06 12:00:00' })
  await client.unbindSubs700({ PoolKey: POOL, SubsId, TelX: SecretNo })
  const gxb = await client.bindGxb700({ PoolKey: POOL, TelB: '13800000072', Expiration: LATER })
  const reached = (await call(gxb.Data.SecretNo, '13500000072')).report
  assert.deepEqual([reached.phone_no, reached.peer_no, reached.call_type], ['13800000072', '13500000072', 1])
})

test('pick-up waybills and A-number reports', async () => {
  const address = JSON.stringify({ ProvinceName: '浙江省', CityName: '杭州市', AddressDetail: '文一西路969号' })
  const slots = await client.createPickUpWaybillPreQuery({ OrderChannels: 'TB', SenderInfo: address, ConsigneeInfo: address })
  assert.equal(slots.Data.Success, true)
  const waybill = await client.createPickUpWaybill({
    OuterOrderCode: 'order-1', OrderChannels: 'TB', SendName: 'S', SendAddress: address, ConsigneeName: 'C', ConsigneeAddress: address,
  })
  assert.ok(waybill.Data.MailNo)
  assert.equal(waybill.HttpStatusCode, 200)
  assert.equal((await client.cancelPickUpWaybill({ OuterOrderCode: 'order-1', CancelDesc: 'changed my mind' })).Data.Success, true)

  const doc = { ANoWhiteGroupId: 9, CustName: 'N', DocumentType: 1, DocumentNumber: 'D', IdCardAlivePhoto: 'p.jpg' }
  assert.equal((await client.createPhoneNoAReport({ ...doc, PhoneNoA: '13800000080' })).Data.CreateResult, true)
  assert.equal((await client.createFixedNoAReport({ ...doc, FixedNoA: '01088880080', CustType: 1 })).Data.CreateResult, true)
  assert.equal((await client.querySecretAPhoneNoToCust({ ANoWhiteGroupId: 9, PhoneNoA: '13800000080' })).Data.PhoneNoA, '13800000080')
  assert.equal((await client.deleteSecretAPhoneNoToCust({ ANoWhiteGroupId: 9, PhoneNoA: '13800000080' })).Data, true)
  const oss = await client.getDyplsOSSInfoForUploadFile({ BizType: 'report' })
  assert.match(oss.Data.Host, /^http:\/\/127\.0\.0\.1/)
})

test('every action answered OK through pls-native at least once', () => {
  const missing = api.actions.map((a) => a.method).filter((m) => !succeeded.has(m))
  assert.deepEqual(missing, [])
})
