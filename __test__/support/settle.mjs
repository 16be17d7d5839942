/** Settles a promise into `{ value }` or `{ error }`, for side-by-side comparison. */
export async function settle(promise) {
  try {
    return { value: await promise }
  } catch (error) {
    return { error }
  }
}
