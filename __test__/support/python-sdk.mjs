// Runs the official Python SDK (alibabacloud-dyplsapi20170525 from PyPI, a
// test-only dependency) against an emulator: one family's life cycle per
// call, in either signature mode. The families' checks are shared by the
// classic (v2) and the default (ACS3-HMAC-SHA256) suites.
import { spawn, spawnSync } from 'node:child_process'
import assert from 'node:assert/strict'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'python', 'lifecycle.py')
const PYTHON = process.env.PYTHON || 'python3'

/** Why the Python SDK cannot run here, or null when it can. */
export function pythonSdkMissing() {
  const reason = probePythonSdk()
  // CI installs the package: there, its absence is a failure, not a skip.
  if (reason && process.env.PLS_TEST_PYTHON_SDK === '1') throw new Error(`PLS_TEST_PYTHON_SDK=1, but ${reason}`)
  return reason
}

function probePythonSdk() {
  const probe = spawnSync(PYTHON, ['-c', 'import alibabacloud_dyplsapi20170525, alibabacloud_tea_openapi'], { encoding: 'utf8' })
  if (probe.error) return `${PYTHON} is not available (${probe.error.code}); install Python 3 and pip install alibabacloud-dyplsapi20170525==2.5.1`
  if (probe.status !== 0) return 'the Python package alibabacloud-dyplsapi20170525 is not installed (pip install alibabacloud-dyplsapi20170525==2.5.1)'
  return null
}

/** Runs one family; resolves with its steps. */
export function runFamily(url, mode, family) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, url, mode, family], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (err += c))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`lifecycle.py ${family} exited ${code}: ${err}`))
      try {
        resolve(JSON.parse(out).steps)
      } catch (e) {
        reject(new Error(`lifecycle.py ${family} printed no JSON: ${out}${err}`))
      }
    })
  })
}

function codes(steps) {
  return steps.map((s) => `${s.action}:${s.code}${s.message ? ` (${s.message})` : ''}`)
}

function allOk(steps, family) {
  const failed = steps.filter((s) => s.code !== 'OK')
  assert.deepEqual(failed.length, 0, `${family}: ${codes(steps).join(', ')}`)
}

/** What each family's life cycle must show, beyond every step answering OK. */
export const FAMILY_CHECKS = {
  axb(steps) {
    allOk(steps, 'axb')
    const detail = steps.find((s) => s.action === 'query_subscription_detail').body.SecretBindDetailDTO
    assert.equal(detail.PhoneNoB, '13871140001', 'the update took')
    assert.equal(steps.length, 4)
  },
  axn(steps) {
    allOk(steps, 'axn')
    const found = steps.find((s) => s.action === 'query_phone_no_aby_track_no').body.Module
    assert.equal(found[0].PhoneNoA, '18040580010')
    assert.equal(steps.length, 6)
  },
  axg(steps) {
    allOk(steps, 'axg')
    const batch = steps.find((s) => s.action === 'bind_batch_axg').body.SecretBindList.SecretBind
    assert.equal(batch[0].Code, 'OK')
    const group = steps.find((s) => s.action === 'create_axg_group').body.GroupId
    assert.equal(steps.find((s) => s.action === 'query_subscription_detail').body.SecretBindDetailDTO.GroupId, String(group))
    assert.equal(steps.length, 8)
  },
  numbers(steps) {
    allOk(steps, 'numbers')
    assert.equal(steps.find((s) => s.action === 'query_secret_no_detail').body.SecretNoInfoDTO.SecretStatus, 2, 'locked')
    assert.equal(steps.length, 6)
  },
  blacklist(steps) {
    allOk(steps, 'blacklist')
    const report = steps.find((s) => s.action === 'call').report
    assert.equal(report.unconnected_cause, 1, 'the blacklisted call is refused')
    assert.equal(report.control_type, 'REJECT')
    assert.equal(steps.length, 6)
  },
}
