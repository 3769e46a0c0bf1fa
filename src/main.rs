//! The `chatwire` binary: parse the command line and hand over to the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A missing .env is normal; a malformed one is worth a word.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("chatwire: ignoring .env: {e}");
    }
    let cli = chatwire::cli::Cli::parse();
    match chatwire::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatwire: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
