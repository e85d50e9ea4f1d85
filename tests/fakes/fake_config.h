/* The configuration shared by the fake libnvidia-ml.so.1 and libcuda.so.1 built by the test suite.
 *
 * FTDOCTOR_FAKE_DRIVER names a text file of key=value lines ('#' starts a comment):
 *   driver_version=580.65.06     cuda_version=13000      nvml_version=13.580.65.06
 *   gpu=NAME|UUID|BUS_ID|MAJOR.MINOR|MEMORY_MIB|MIG(0,1,-)|COMPUTE_MODE|ARCHITECTURE
 *   mig=GPU_INDEX|MIG-UUID        (one line per MIG instance)
 *   fail=FUNCTION:CODE            (that function returns CODE: nvmlInit, nvmlDeviceGetCount,
 *                                  nvmlDeviceGetHandleByIndex@1 for GPU 1 only, cuInit, ...)
 *   hang=FUNCTION                 (that function never returns)
 *   crash=FUNCTION                (that function dies with SIGSEGV)
 * Without the variable the fakes behave like a driver whose kernel module is not loaded.
 */
#ifndef FAKE_CONFIG_H
#define FAKE_CONFIG_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAKE_MAX_GPUS 16
#define FAKE_MAX_MIGS 32
#define FAKE_MAX_RULES 32
#define FAKE_TEXT 128

typedef struct {
    char name[FAKE_TEXT], uuid[FAKE_TEXT], bus_id[FAKE_TEXT];
    int cc_major, cc_minor, mig, compute_mode;
    unsigned architecture;
    unsigned long long memory_mib;
} fake_gpu;

typedef struct {
    int parent;
    char uuid[FAKE_TEXT];
} fake_mig;

typedef struct {
    char function[FAKE_TEXT];
    int code; /* fail: the return code; hang: -1; crash: -2 */
} fake_rule;

typedef struct {
    int loaded, present;
    char driver_version[FAKE_TEXT], nvml_version[FAKE_TEXT];
    int cuda_version;
    fake_gpu gpus[FAKE_MAX_GPUS];
    int gpu_count;
    fake_mig migs[FAKE_MAX_MIGS];
    int mig_count;
    fake_rule rules[FAKE_MAX_RULES];
    int rule_count;
} fake_config;

static fake_config fake;

static void fake_copy(char *dst, const char *src) {
    strncpy(dst, src, FAKE_TEXT - 1);
    dst[FAKE_TEXT - 1] = 0;
}

static char *fake_field(char **cursor) {
    char *start = *cursor, *bar;
    if (!start) return "";
    bar = strchr(start, '|');
    if (bar) { *bar = 0; *cursor = bar + 1; } else { *cursor = NULL; }
    return start;
}

static void fake_parse_gpu(char *value) {
    fake_gpu *g;
    char *cursor = value, *mig;
    if (fake.gpu_count >= FAKE_MAX_GPUS) return;
    g = &fake.gpus[fake.gpu_count++];
    fake_copy(g->name, fake_field(&cursor));
    fake_copy(g->uuid, fake_field(&cursor));
    fake_copy(g->bus_id, fake_field(&cursor));
    sscanf(fake_field(&cursor), "%d.%d", &g->cc_major, &g->cc_minor);
    g->memory_mib = strtoull(fake_field(&cursor), NULL, 10);
    mig = fake_field(&cursor);
    g->mig = mig[0] == '-' ? -1 : atoi(mig);
    g->compute_mode = atoi(fake_field(&cursor));
    g->architecture = (unsigned)atoi(fake_field(&cursor));
}

static void fake_parse_rule(char *value, int code) {
    fake_rule *r;
    char *colon = strrchr(value, ':');
    if (fake.rule_count >= FAKE_MAX_RULES) return;
    r = &fake.rules[fake.rule_count++];
    if (code == 0 && colon) { *colon = 0; code = atoi(colon + 1); }
    fake_copy(r->function, value);
    r->code = code;
}

static void fake_parse_line(char *line) {
    char *eq = strchr(line, '='), *key = line, *value, *end;
    if (!eq || line[0] == '#') return;
    *eq = 0;
    value = eq + 1;
    end = value + strlen(value);
    while (end > value && (end[-1] == '\n' || end[-1] == '\r')) *--end = 0;
    if (!strcmp(key, "driver_version")) fake_copy(fake.driver_version, value);
    else if (!strcmp(key, "nvml_version")) fake_copy(fake.nvml_version, value);
    else if (!strcmp(key, "cuda_version")) fake.cuda_version = atoi(value);
    else if (!strcmp(key, "gpu")) fake_parse_gpu(value);
    else if (!strcmp(key, "fail")) fake_parse_rule(value, 0);
    else if (!strcmp(key, "hang")) fake_parse_rule(value, -1);
    else if (!strcmp(key, "crash")) fake_parse_rule(value, -2);
    else if (!strcmp(key, "mig") && fake.mig_count < FAKE_MAX_MIGS) {
        char *cursor = value;
        fake.migs[fake.mig_count].parent = atoi(fake_field(&cursor));
        fake_copy(fake.migs[fake.mig_count++].uuid, fake_field(&cursor));
    }
}

static void fake_load(void) {
    const char *path = getenv("FTDOCTOR_FAKE_DRIVER");
    char line[1024];
    FILE *file;
    if (fake.loaded) return;
    fake.loaded = 1;
    if (!path || !(file = fopen(path, "r"))) return;
    fake.present = 1;
    while (fgets(line, sizeof line, file)) fake_parse_line(line);
    fclose(file);
}

/* What the configuration says about FUNCTION (or FUNCTION@INDEX): 0, or the code to return. Hangs and
 * crashes happen here. */
static int fake_rule_for(const char *function, int index) {
    char qualified[FAKE_TEXT];
    int i;
    fake_load();
    snprintf(qualified, sizeof qualified, "%s@%d", function, index);
    for (i = 0; i < fake.rule_count; i++) {
        fake_rule *r = &fake.rules[i];
        if (strcmp(r->function, function) && strcmp(r->function, qualified)) continue;
        if (r->code == -1) for (;;) pause();
        if (r->code == -2) raise(SIGSEGV);
        return r->code;
    }
    return 0;
}

#endif
