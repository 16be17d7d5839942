//! Runs the emulator as its own process:
//! `cargo run -p pls-emulator --example serve -- [--port N] [--host H]
//! [--clock "YYYY-MM-DD HH:mm:ss"] [--account ID] [--stateless] [--threads N]
//! [--tls --ca-out FILE]`.
//! The first stdout line is the base URL; it serves until SIGINT/SIGTERM.
//! With `--tls` it serves HTTPS with a throwaway CA, written to `--ca-out`
//! before the URL is printed.

use std::io::Write;
use std::process::ExitCode;

use pls_emulator::{start, EmulatorConfig, TlsOption};

struct Options {
    config: EmulatorConfig,
    threads: usize,
    ca_out: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut config = EmulatorConfig::default();
    let mut threads = 0;
    let mut ca_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => config.port = Some(value()?.parse().map_err(|e| format!("--port: {e}"))?),
            "--host" => config.host = Some(value()?),
            "--clock" => config.clock = Some(value()?),
            "--account" => config.account = Some(value()?),
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--stateless" => config.stateless = true,
            "--tls" => config.tls = Some(TlsOption::Generate(true)),
            "--ca-out" => ca_out = Some(value()?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if ca_out.is_some() != config.tls.is_some() {
        return Err("--tls and --ca-out go together".into());
    }
    Ok(Options {
        config,
        threads,
        ca_out,
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> ExitCode {
    let Options {
        config,
        threads,
        ca_out,
    } = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("pls-emulator: {message}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pls-emulator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let emulator = match start(config).await {
            Ok(emulator) => emulator,
            Err(e) => {
                eprintln!("pls-emulator: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let (Some(path), Some(ca)) = (&ca_out, emulator.ca_pem()) {
            if let Err(e) = std::fs::write(path, ca) {
                eprintln!("pls-emulator: cannot write --ca-out {path}: {e}");
                let _ = emulator.stop().await;
                return ExitCode::FAILURE;
            }
        }
        println!("{}", emulator.url());
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        match emulator.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pls-emulator: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
