fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it was compiled: a build script
    // binary may be shared by checkouts at other paths (one target directory).
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "talk/v1/common.proto",
        "talk/v1/agent.proto",
        "talk/v1/talk.proto",
        "talk/v1/message.proto",
        "talk/v1/push.proto",
        "talk/v1/events.proto",
        "talk/v1/webhook.proto",
        "talk/v1/search.proto",
        "talk/v1/signal.proto",
        "talk/v1/receipt.proto",
        "talk/v1/file.proto",
    ];
    let fds = protox::compile(files, [&root])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
