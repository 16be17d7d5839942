//! Keeps the addon's DLL loaded until the process exits (Windows only).
//!
//! Node unloads an addon (`FreeLibrary`) when the last worker thread that
//! loaded it ends. The tokio runtime's threads outlive any one worker and
//! may still be running code of the DLL then, so an unload crashes the
//! whole process (0xC0000005). Elsewhere the platform already prevents it:
//! napi-build links Linux glibc builds with `-z nodelete`, musl's `dlclose`
//! never unloads, and macOS keeps images that use thread-local storage.

use windows_sys::Win32::Foundation::HMODULE;
use windows_sys::Win32::System::LibraryLoader::{
    GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_PIN,
};

/// Pins this DLL when it is loaded, before Node registers the module.
#[napi_derive::module_init]
fn pin_addon_for_process_lifetime() {
    static ANCHOR: u8 = 0;
    let mut module: HMODULE = std::ptr::null_mut();
    // SAFETY: FROM_ADDRESS makes the second argument an address inside the
    // module to look up rather than a name: `ANCHOR` lives in this DLL's
    // image, which is loaded while this runs. `module` is a valid place for
    // the handle. The call takes the loader lock, which the loader already
    // holds on this thread during initialisation (it is re-entrant), and
    // loads nothing.
    let pinned = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
            std::ptr::addr_of!(ANCHOR).cast(),
            &mut module,
        )
    };
    // Nothing can report a failure here, and the addon works without the
    // pin; only an unload under running threads would then be unsafe again.
    let _ = pinned;
}
