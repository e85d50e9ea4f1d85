"""Signature behaviour beyond the real-log corpus: wordings no corpus excerpt carries on its own, lookups,
guards, markers that gate a match, superseding, and ranking. Each log line here is a library's own message
text; the corpus (test_corpus.py) holds the real reports."""

from __future__ import annotations

import pytest

from ftdoctor.explain import explain_text
from ftdoctor.explain.catalog import load_catalog


def top(text: str):
    result = explain_text(text)
    assert result.found, "no diagnosis"
    return result.diagnoses[0]


@pytest.mark.parametrize(
    ("line", "category", "signature"),
    [
        ("/usr/include/c10/util/C++17.h:16:2: error: #error You need C++17 to compile PyTorch", "build_env", "cpp-standard-too-old"),
        ("torch/include/ATen/ATen.h:5:2: error: #error C++20 or later compatible compiler is required to use ATen.", "build_env", "cpp-standard-too-old"),
        ("csrc/adam/cpu_adam.cpp:1:10: fatal error: Python.h: No such file or directory", "build_env", "python-headers-missing"),
        ("ImportError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.28' not found (required by torch/lib/libtorch_cpu.so)", "system_libs_too_old", "glibc-not-found"),
        ("[Tue Mar 4 10:00:00 2025] Out of memory: Killed process 4242 (python) total-vm:98765432kB", "oom_host", "kernel-oom-killer"),
        ("RuntimeError: CUDA error: no kernel image is available for execution on the device", "arch_not_in_build", "no-kernel-image"),
        ("Unsloth: `xformers` is now installed, but transformers bound this object to a placeholder when it was first imported without it. Please restart the runtime/kernel.", "stale_runtime", "restart-runtime-request"),
        ("deepspeed.ops.op_builder.builder.MissingCUDAException: CUDA_HOME does not exist, unable to compile CUDA op(s)", "cuda_home_missing", "cuda-home-not-set"),
        ("torch.distributed.elastic.multiprocessing.api.SignalException: died with <Signals.SIGKILL: 9>", "oom_host", "process-sigkill"),
        ("mmap.error: [Errno 12] Cannot allocate memory", "oom_host", "host-enomem"),
        ("MemoryError", "oom_host", "host-enomem"),
        ("Could not load library libcudnn_cnn_infer.so.8. Error: libcudnn_cnn_infer.so.8: cannot open shared object file: No such file or directory", "cuda_lib_missing", "cuda-shared-library-missing"),
        ("TypeError: CustomTrainer.compute_loss() got an unexpected keyword argument 'num_items_in_batch'", "api_changed", "unexpected-keyword-argument"),
        ("ImportError: cannot import name 'prepare_model_for_int8_training' from 'peft'", "api_changed", "cannot-import-name"),
    ],
)
def test_library_wordings(line, category, signature):
    diagnosis = top(line)
    assert (diagnosis.category, diagnosis.signature) == (category, signature)


def test_lookup_picks_the_entry_for_the_owner():
    trl = top("TypeError: DPOTrainer.__init__() got an unexpected keyword argument 'tokenizer'")
    assert "TRL renamed" in trl.cause and trl.confidence >= 0.9
    transformers = top("TypeError: Trainer.__init__() got an unexpected keyword argument 'tokenizer'")
    assert "transformers renamed" in transformers.cause
    assert transformers.specifics["replacement"] == "processing_class"


def test_an_unknown_argument_gets_the_generic_cause_at_lower_confidence():
    diagnosis = top("TypeError: LoraConfig.__init__() got an unexpected keyword argument 'use_dora_plus'")
    assert diagnosis.category == "api_changed" and diagnosis.confidence == 0.6
    assert "LoraConfig does not accept the argument use_dora_plus" in diagnosis.cause


def test_a_model_type_outside_the_table_still_names_the_type():
    diagnosis = top("ValueError: The checkpoint you are trying to load has model type `zamba9` but Transformers does not recognize this architecture.")
    assert "zamba9" in diagnosis.cause and "arrived" not in diagnosis.cause
    assert diagnosis.fixes[0].commands == ("python -m pip install -U transformers",)


def test_guard_keeps_a_newer_pin_out_of_python_unsupported():
    # requesting a version newer than every available one is not "this Python is unsupported"
    result = explain_text("ERROR: Could not find a version that satisfies the requirement torch==9.9.9 (from versions: 2.2.0, 2.3.0)")
    assert "python_unsupported" not in [d.category for d in result.diagnoses]


def test_required_marker_gates_the_build_isolation_diagnosis():
    plain = explain_text("Traceback (most recent call last):\n  File \"train.py\", line 1, in <module>\n    import torch\nModuleNotFoundError: No module named 'torch'\n")
    assert not plain.found  # torch simply not installed: not a build-isolation problem, and no guess
    built = top("  Getting requirements to build wheel ... error\n" + "x\n" * 5 + "      ModuleNotFoundError: No module named 'torch'\n")
    assert built.category == "build_env"


def test_excluded_marker_switches_bitsandbytes_to_the_windows_cause():
    linux = top("/opt/env/lib/python3.10/site-packages/bitsandbytes/cextension.py:34: UserWarning: The installed version of bitsandbytes was compiled without GPU support.")
    windows = top("C:\\env\\lib\\site-packages\\bitsandbytes\\cextension.py:34: UserWarning: The installed version of bitsandbytes was compiled without GPU support.")
    assert (linux.category, windows.category) == ("cuda_lib_missing", "no_binary_for_platform")


def test_supersedes_drops_the_generic_signature():
    result = explain_text("[Tue] Out of memory: Killed process 77 (python)\n[2024] [ERROR] [launch.py:321:sigkill_handler] exits with return code = -9\n")
    assert [d.signature for d in result.diagnoses] == ["kernel-oom-killer"]


def test_supporting_marker_raises_confidence():
    bare = top("RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
    supported = top("UserWarning: None of the inputs have requires_grad=True. Gradients will be None\n"
                    "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
    assert supported.confidence > bare.confidence


def test_most_likely_first_and_one_diagnosis_per_category():
    log = ("We've detected an older driver with an RTX 4000 series GPU. These drivers have issues with P2P.\n"
           "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
           "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.00 MiB is free.\n")
    result = explain_text(log)
    assert [d.category for d in result.diagnoses] == ["oom_gpu", "nccl_env"]
    assert result.diagnoses[0].matches == 2


def test_every_signature_has_a_source_and_a_fix_or_a_reason():
    for sig in load_catalog().signatures:
        assert sig.source.strip(), sig.id
        assert sig.fixes or sig.lookup, f"{sig.id} has no fix"


def test_a_bare_address_in_use_is_the_port_cause_with_confidence_for_what_the_log_says():
    bare = top("RuntimeError: Address already in use\n")
    assert (bare.category, bare.signature, bare.confidence_label) == ("dist_port_in_use", "dist-address-in-use", "medium")
    assert bare.fixes[0].commands[0] == "ss -ltnp"  # no port in the log: list them all, never a made-up port
    traceback = top("    store = TCPStore(master_addr, master_port, world_size, start_daemon)\nRuntimeError: Address already in use\n")
    with_port = top("python main.py --dist-url tcp://127.0.0.1:41947 --multiprocessing-distributed\n"
                    "RuntimeError: Address already in use\n")
    assert with_port.specifics["port"] == "41947" and with_port.fixes[0].commands == ("ss -ltnp | grep :41947",)
    named = explain_text("RuntimeError: Address already in use\n[W socket.cpp:464] [c10d] The server socket has failed to "
                         "bind to 0.0.0.0:29500 (errno: 98 - Address already in use).\n")
    assert [d.signature for d in named.diagnoses] == ["dist-port-in-use"]  # the message with the port supersedes
    assert bare.confidence < traceback.confidence == with_port.confidence < named.diagnoses[0].confidence


def test_a_run_that_succeeded_with_the_usual_warnings_has_no_known_cause():
    """Warnings every fine-tuning run prints (deprecations, NCCL's INFO about plugins it does not need, the
    use_cache switch, a tokenizer length note, a refused c10d client connect while the store starts) are no cause."""
    log = "\n".join([
        "[INFO] [real_accelerator.py:203:get_accelerator] Setting ds_accelerator to cuda (auto detect)",
        "transformers/training_args.py:1575: FutureWarning: `evaluation_strategy` is deprecated and will be removed in version 4.46 of 🤗 Transformers. Use `eval_strategy` instead",
        "node0:1234:1234 [0] NCCL INFO NET/Plugin : dlerror=libnccl-net.so: cannot open shared object file: No such file or directory No plugin found (libnccl-net.so), using internal implementation",
        "node0:1234:1234 [0] NCCL INFO Failed to open libibverbs.so[.1]",
        "node0:1234:1234 [0] NCCL INFO NET/IB : No device found.",
        "`use_cache=True` is incompatible with gradient checkpointing. Setting `use_cache=False`.",
        "torch/utils/checkpoint.py:464: UserWarning: torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly.",
        "Special tokens have been added in the vocabulary, make sure the associated word embeddings are fine-tuned or trained.",
        "Token indices sequence length is longer than the specified maximum sequence length for this model (5120 > 4096). Running this sequence through the model will result in indexing errors",
        "[W socket.cpp:697] [c10d] The client socket has failed to connect to [localhost]:29500 (errno: 99 - Cannot assign requested address).",
        "{'loss': 1.2345, 'grad_norm': 0.77, 'learning_rate': 2e-05, 'epoch': 0.42}",
        "{'train_runtime': 1234.5, 'train_samples_per_second': 3.2, 'train_loss': 1.1, 'epoch': 1.0}",
        "Saving model checkpoint to out/checkpoint-500",
    ]) + "\n"
    result = explain_text(log)
    assert not result.found, [(d.category, d.signature) for d in result.diagnoses]
