//! Snapshots of whole scans: any change in what is found, or how it is said, shows up here.

mod common;

#[test]
fn pickle_techniques() {
    insta::assert_json_snapshot!(common::scan_json(&[
        "testdata/models/malicious/memo_binput_binget_stack_global.pkl",
        "testdata/models/malicious/getattr_import_os_system_chain.pkl",
        "testdata/models/malicious/two_streams_benign_then_os_system.pkl",
        "testdata/models/malicious/truncated_after_reduce.pkl",
        "testdata/models/malicious/ext1_reduce.pkl",
        "testdata/models/malicious/stack_global_module_from_reduce.pkl",
        "testdata/models/malicious/mutation_build_on_global_class.pkl",
    ]));
}

#[test]
fn container_techniques() {
    insta::assert_json_snapshot!(common::scan_json(&[
        "testdata/models/malicious/zip_torch_bad_crc.pt",
        "testdata/models/malicious/zip_torch_encryption_flag.pt",
        "testdata/models/malicious/zip_torch_local_central_name_mismatch.pt",
        "testdata/models/malicious/polyglot_pickle_then_torch_zip.pt",
        "testdata/models/malicious/nested_zip_in_zip.zip",
        "testdata/models/malicious/zip_nesting_depth_8.zip",
        "testdata/models/malicious/numpy_object_array.npz",
        "testdata/models/malicious/joblib_array_then_os_system.joblib",
    ]));
}

#[test]
fn benign_checkpoints() {
    insta::assert_json_snapshot!(common::scan_json(&[
        "testdata/models/benign/transformers",
        "testdata/models/benign/lightning",
        "testdata/models/benign/sklearn_numpy1",
    ]));
}

#[test]
fn archive_and_hidden_payload_techniques() {
    insta::assert_json_snapshot!(common::scan_json(&[
        "testdata/models/malicious/archives/tar_symlink_escape.tar",
        "testdata/models/malicious/archives/tar_duplicate_member.tar",
        "testdata/models/malicious/archives/zip_holding_tar_gz.zip",
        "testdata/models/malicious/archives/sevenz_pickle_os_system.7z",
        "testdata/models/malicious/archives/sevenz_encrypted.7z",
        "testdata/models/malicious/archives/st_metadata_base64_pickle.safetensors",
        "testdata/models/malicious/archives/gguf_metadata_zlib_base64_pickle.gguf",
        "testdata/models/malicious/archives/config_hex_pickle.json",
        "testdata/models/malicious/archives/tokenizer_config_ssti.json",
    ]));
}

#[test]
fn header_format_techniques() {
    insta::assert_json_snapshot!(common::scan_json(&[
        "testdata/models/malicious/st_gap_hides_pickle.safetensors",
        "testdata/models/malicious/st_duplicate_tensor_key.safetensors",
        "testdata/models/malicious/st_overlap.safetensors",
        "testdata/models/malicious/gguf_kv_count_2_64.gguf",
        "testdata/models/malicious/gguf_ssti_cycler_globals_os_popen.gguf",
        "testdata/models/malicious/gguf_layout",
        "testdata/models/malicious/disguised",
    ]));
}
