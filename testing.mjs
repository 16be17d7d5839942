// ESM entry of pls-native/testing: the same module as testing.js.
import testing from './testing.js'

export const { startTestEmulator } = testing
export default testing
