//! Compiles the snapshot protocol with a vendored `protoc`, so no system protobuf compiler is
//! needed. Only with the `grpc` feature: the model alone needs no generated code.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(feature = "grpc")]
    {
        let mut config = prost_build::Config::new();
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
        tonic_prost_build::configure().compile_with_config(
            config,
            &["proto/portico/snapshot/v1/snapshot.proto"],
            &["proto"],
        )?;
    }
    Ok(())
}
