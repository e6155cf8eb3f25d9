//! The `rsmbd` command: see `rsmbd --help` and README.md.
fn main() -> std::process::ExitCode {
    rsmbd::cli::main()
}
