/* A fake libnvidia-ml.so.1 for the test suite: the NVML entry points nvidia-ml-py calls, answering from
 * the configuration in fake_config.h. Struct layouts follow nvidia-ml-py's ctypes declarations
 * (nvmlPciInfo_t, nvmlMemory_t, nvmlMemory_v2_t).
 *
 * Build variants: -DFAKE_OLD_NVML drops the calls drivers before CUDA 10 lacked
 * (nvmlSystemGetCudaDriverVersion_v2, nvmlDeviceGetCudaComputeCapability, nvmlDeviceGetArchitecture);
 * -DFAKE_NO_INIT_FLAGS drops nvmlInitWithFlags, so nvidia-ml-py's nvmlInit meets FunctionNotFound.
 */
#include "fake_config.h"

typedef int nvmlReturn_t;
typedef struct { int kind; int index; } fake_handle; /* kind 0: a GPU, 1: a MIG instance */
typedef fake_handle *nvmlDevice_t;

typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_ARGUMENT_VERSION_MISMATCH 25
#define NVML_MEMORY_V2 0x02000028

static fake_handle gpu_handles[FAKE_MAX_GPUS], mig_handles[FAKE_MAX_MIGS];
static int initialised;

static nvmlReturn_t fake_init(void) {
    int code = fake_rule_for("nvmlInit", -1);
    if (code) return code;
    if (!fake.present) return NVML_ERROR_DRIVER_NOT_LOADED;
    initialised++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit(void) { return fake_init(); }
nvmlReturn_t nvmlInit_v2(void) { return fake_init(); }
#ifndef FAKE_NO_INIT_FLAGS
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) { (void)flags; return fake_init(); }
#endif

nvmlReturn_t nvmlShutdown(void) {
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    initialised--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    default: return "Unknown Error";
    }
}

/* The checks every call makes: initialised, the configured failure, and for device calls a valid handle. */
static nvmlReturn_t check(const char *function) {
    int code = fake_rule_for(function, -1);
    if (code) return code;
    return initialised ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
}

static nvmlReturn_t check_gpu(const char *function, nvmlDevice_t device, fake_gpu **gpu) {
    int code;
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (!device || device->kind != 0 || device->index >= fake.gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
    code = fake_rule_for(function, device->index);
    *gpu = &fake.gpus[device->index];
    return code;
}

static nvmlReturn_t copy_text(char *out, unsigned int length, const char *text) {
    if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(out, text);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    nvmlReturn_t code = check("nvmlSystemGetDriverVersion");
    return code ? code : copy_text(version, length, fake.driver_version);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    nvmlReturn_t code = check("nvmlSystemGetNVMLVersion");
    return code ? code : copy_text(version, length, fake.nvml_version);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *version) {
    nvmlReturn_t code = check("nvmlSystemGetCudaDriverVersion");
    if (!code) *version = fake.cuda_version;
    return code;
}

#ifndef FAKE_OLD_NVML
nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version) {
    nvmlReturn_t code = check("nvmlSystemGetCudaDriverVersion_v2");
    if (!code) *version = fake.cuda_version;
    return code;
}
#endif

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    nvmlReturn_t code = check("nvmlDeviceGetCount");
    if (!code) *count = (unsigned int)fake.gpu_count;
    return code;
}
nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    int code;
    if (!initialised) return NVML_ERROR_UNINITIALIZED;
    if (index >= (unsigned int)fake.gpu_count) return NVML_ERROR_INVALID_ARGUMENT;
    code = fake_rule_for("nvmlDeviceGetHandleByIndex", (int)index);
    if (code) return code;
    gpu_handles[index].kind = 0;
    gpu_handles[index].index = (int)index;
    *device = &gpu_handles[index];
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetName", device, &gpu);
    return code ? code : copy_text(name, length, gpu->name);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    fake_gpu *gpu;
    nvmlReturn_t code;
    if (device && device->kind == 1 && initialised) return copy_text(uuid, length, fake.migs[device->index].uuid);
    code = check_gpu("nvmlDeviceGetUUID", device, &gpu);
    return code ? code : copy_text(uuid, length, gpu->uuid);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetPciInfo", device, &gpu);
    if (code) return code;
    memset(pci, 0, sizeof *pci);
    strncpy(pci->busId, gpu->bus_id, sizeof pci->busId - 1);
    strncpy(pci->busIdLegacy, gpu->bus_id + (strlen(gpu->bus_id) > 12 ? 4 : 0), sizeof pci->busIdLegacy - 1);
    sscanf(gpu->bus_id, "%x:%x:%x", &pci->domain, &pci->bus, &pci->device);
    pci->pciDeviceId = 0x233010de;
    return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci) { return nvmlDeviceGetPciInfo_v3(device, pci); }
nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci) { return nvmlDeviceGetPciInfo_v3(device, pci); }

#ifndef FAKE_OLD_NVML
nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetCudaComputeCapability", device, &gpu);
    if (code) return code;
    *major = gpu->cc_major;
    *minor = gpu->cc_minor;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, unsigned int *architecture) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetArchitecture", device, &gpu);
    if (!code) *architecture = gpu->architecture;
    return code;
}
#endif

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetMemoryInfo", device, &gpu);
    if (code) return code;
    memory->total = gpu->memory_mib * 1024ULL * 1024ULL;
    memory->used = 0;
    memory->free = memory->total;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetMemoryInfo", device, &gpu);
    if (code) return code;
    if (memory->version != NVML_MEMORY_V2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    memory->total = gpu->memory_mib * 1024ULL * 1024ULL;
    memory->reserved = 0;
    memory->used = 0;
    memory->free = memory->total;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetMigMode", device, &gpu);
    if (code) return code;
    if (gpu->mig < 0) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = (unsigned int)gpu->mig;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, int *mode) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetComputeMode", device, &gpu);
    if (!code) *mode = gpu->compute_mode;
    return code;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count) {
    fake_gpu *gpu;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetMaxMigDeviceCount", device, &gpu);
    if (code) return code;
    if (gpu->mig < 0) return NVML_ERROR_NOT_SUPPORTED;
    *count = 7;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int slot, nvmlDevice_t *mig) {
    fake_gpu *gpu;
    unsigned int seen = 0;
    int i;
    nvmlReturn_t code = check_gpu("nvmlDeviceGetMigDeviceHandleByIndex", device, &gpu);
    if (code) return code;
    for (i = 0; i < fake.mig_count; i++) {
        if (fake.migs[i].parent != device->index) continue;
        if (seen++ == slot) {
            mig_handles[i].kind = 1;
            mig_handles[i].index = i;
            *mig = &mig_handles[i];
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_NOT_FOUND;
}
