/** Settles a promise into `{ value }` or `{ error }`, for side-by-side comparison. */
export async function settle(promise) {
  try {
    return { value: await promise }
  } catch (error) {
    return { error }
  }
}

/** Rejects if `promise` has not settled within `ms` (a hang is a failure, not a stuck suite). */
export function within(ms, promise, what) {
  let timer
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
}
