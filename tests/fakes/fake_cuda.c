/* A fake libcuda.so.1 for the test suite: the CUDA driver API entry points ftdoctor's probe calls through
 * ctypes, answering from the configuration in fake_config.h.
 *
 * Like the real driver it reads CUDA_VISIBLE_DEVICES (an empty value or "-1" hides every GPU, so the probe
 * must drop the variable before cuInit) and CUDA_DEVICE_ORDER (unless PCI_BUS_ID, the fake numbers GPUs by
 * compute capability, highest first: a stand-in for the real "fastest first").
 */
#include "fake_config.h"

typedef int CUresult;
#define CUDA_SUCCESS 0
#define CUDA_ERROR_INVALID_VALUE 1
#define CUDA_ERROR_NOT_INITIALIZED 3
#define CUDA_ERROR_NO_DEVICE 100
#define CUDA_ERROR_INVALID_DEVICE 101

static int initialised, order[FAKE_MAX_GPUS], visible;

static void make_order(void) {
    const char *device_order = getenv("CUDA_DEVICE_ORDER");
    int by_bus = device_order && !strcmp(device_order, "PCI_BUS_ID");
    int i, j;
    for (i = 0; i < fake.gpu_count; i++) order[i] = i;
    for (i = 0; i < fake.gpu_count && !by_bus; i++) {
        for (j = i + 1; j < fake.gpu_count; j++) {
            fake_gpu *a = &fake.gpus[order[i]], *b = &fake.gpus[order[j]];
            if (b->cc_major * 10 + b->cc_minor > a->cc_major * 10 + a->cc_minor) {
                int t = order[i]; order[i] = order[j]; order[j] = t;
            }
        }
    }
}

CUresult cuInit(unsigned int flags) {
    const char *hidden = getenv("CUDA_VISIBLE_DEVICES");
    int code = fake_rule_for("cuInit", -1);
    (void)flags;
    if (code) return code;
    if (!fake.present) return CUDA_ERROR_NO_DEVICE;
    visible = fake.gpu_count;
    if (hidden && (!hidden[0] || hidden[0] == '-')) visible = 0;
    if (!visible) return CUDA_ERROR_NO_DEVICE;
    make_order();
    initialised = 1;
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version) {
    fake_load();
    if (!version) return CUDA_ERROR_INVALID_VALUE;
    *version = fake.cuda_version;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count) {
    int code = fake_rule_for("cuDeviceGetCount", -1);
    if (code) return code;
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    *count = visible;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(int *device, int ordinal) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (ordinal < 0 || ordinal >= visible) return CUDA_ERROR_INVALID_DEVICE;
    *device = ordinal;
    return CUDA_SUCCESS;
}

static fake_gpu *gpu_of(int device) {
    if (!initialised || device < 0 || device >= visible) return NULL;
    return &fake.gpus[order[device]];
}

CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
    fake_gpu *gpu = gpu_of(device);
    if (!gpu) return CUDA_ERROR_INVALID_DEVICE;
    if (attribute == 75) *value = gpu->cc_major;
    else if (attribute == 76) *value = gpu->cc_minor;
    else return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int length, int device) {
    fake_gpu *gpu = gpu_of(device);
    if (!gpu) return CUDA_ERROR_INVALID_DEVICE;
    snprintf(name, (size_t)length, "%s", gpu->name);
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, int device) {
    fake_gpu *gpu = gpu_of(device);
    if (!gpu) return CUDA_ERROR_INVALID_DEVICE;
    *bytes = (size_t)(gpu->memory_mib * 1024ULL * 1024ULL);
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetPCIBusId(char *bus_id, int length, int device) {
    fake_gpu *gpu = gpu_of(device);
    unsigned domain = 0, bus = 0, slot = 0, function = 0;
    if (!gpu) return CUDA_ERROR_INVALID_DEVICE;
    sscanf(gpu->bus_id, "%x:%x:%x.%x", &domain, &bus, &slot, &function);
    snprintf(bus_id, (size_t)length, "%04x:%02x:%02x.%x", domain, bus, slot, function);
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetUuid_v2(unsigned char *uuid, int device) {
    fake_gpu *gpu = gpu_of(device);
    const char *p;
    int n = 0;
    if (!gpu) return CUDA_ERROR_INVALID_DEVICE;
    for (p = gpu->uuid + 4; *p && n < 32; p++) {
        unsigned value;
        char digit[2] = {*p, 0};
        if (*p == '-') continue;
        sscanf(digit, "%x", &value);
        if (n % 2 == 0) uuid[n / 2] = (unsigned char)(value << 4); else uuid[n / 2] |= (unsigned char)value;
        n++;
    }
    return CUDA_SUCCESS;
}
CUresult cuDeviceGetUuid(unsigned char *uuid, int device) { return cuDeviceGetUuid_v2(uuid, device); }

CUresult cuGetErrorName(CUresult error, const char **name) {
    switch (error) {
    case 0: *name = "CUDA_SUCCESS"; break;
    case 3: *name = "CUDA_ERROR_NOT_INITIALIZED"; break;
    case 35: *name = "CUDA_ERROR_INSUFFICIENT_DRIVER"; break;
    case 100: *name = "CUDA_ERROR_NO_DEVICE"; break;
    case 101: *name = "CUDA_ERROR_INVALID_DEVICE"; break;
    case 803: *name = "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"; break;
    case 804: *name = "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"; break;
    case 999: *name = "CUDA_ERROR_UNKNOWN"; break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}
