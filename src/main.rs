use clap::Parser;

use ctfdeck::cli::{self, Cli, exit};
use ctfdeck::terminal_text::clean;

fn main() {
    let cli = Cli::parse();
    // color-eyre for readable error chains; it cannot fail unless installed twice.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    // The console (no command) draws on the terminal and logs elsewhere; it sets that up itself.
    if cli.command.is_some() {
        cli::init_command_logging();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit::FAILED);
        }
    };
    if let Err(report) = runtime.block_on(cli::run(cli)) {
        let code = exit::code_for(&report);
        // Errors may quote what others wrote (challenge files, engine messages).
        if report.downcast_ref::<exit::Reported>().is_some() {
            eprintln!("{}", clean(&report.to_string()));
        } else {
            eprintln!("error: {}", clean(&exit::describe(&report)));
        }
        std::process::exit(code);
    }
}
