use std::io::{BufWriter, ErrorKind, Write};
use std::process::ExitCode;

use ekas::cli::LogFormat;
use ekas::settings::Settings;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = ekas::cli::parse();
    // Errors print their cause chain without a backtrace unless RUST_BACKTRACE asks for one.
    if let Err(e) = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install()
    {
        eprintln!("ekas: cannot install the error handler: {e}");
    }
    let verbose = cli.global.verbose;
    // kube logs every failed request as an error ("client error (SendRequest)"); ekas reports
    // the same failure naming the call, so kube's line shows from -vv on.
    let level = match verbose {
        0 => "warn,kube_client::client::builder=off",
        1 => "info,kube_client::client::builder=off",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("EKAS_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    // Colours only for a person at a terminal: `kubectl logs` and log collectors get plain text.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.global.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = Settings::from_cli(cli)
        .and_then(|settings| ekas::commands::run(settings, &mut out))
        .and_then(|()| Ok(out.flush()?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `ekas plan | head` closes the pipe early; that is not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) if verbose >= 2 => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
        Err(e) => {
            // The cause chain, most general first, without a backtrace: the message is for
            // operators; -vv shows the full report.
            let mut chain = e.chain();
            eprintln!(
                "error: {}",
                chain.next().map(|c| c.to_string()).unwrap_or_default()
            );
            for cause in chain {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
