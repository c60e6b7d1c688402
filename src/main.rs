use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = llmguard::cli::Cli::parse();
    match llmguard::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("llmguard: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
