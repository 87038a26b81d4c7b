/* A C program embedding the ssm runtime to generate text ids from a model
 * artifact (ssmc <checkpoint dir>): greedy decoding of N new tokens after a
 * prompt, with the checkpoint's weights bound by name.
 *
 *   ssm-example-generate ARTIFACT_DIR CHECKPOINT_DIR N ID [ID...]
 *
 * The artifact's entry points (see ssmc's ModelImport.h): `prefill` takes
 * input_ids [1, L] and the weights and returns the logits [1, L, vocab]
 * followed by the states; `decode` takes one id, the weights and the states
 * and returns the logits and the next states. States come back under the
 * names they are taken by, whole, except attention caches (names ending in
 * key_cache or value_cache), which come back as the rows the call adds and
 * are appended here. Only the public C API (ssm/runtime.h) is used. */
#include <ssm/runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kMaxRank = 8, kMaxTensors = 1024 };

/* A tensor this program owns: its name, shape and 64-byte aligned data. */
typedef struct {
  const char *name; /* owned by the module */
  DLTensor tensor;
  int64_t shape[kMaxRank];
} owned_t;

static int report(ssm_status_t status, const char *what) {
  if (!status)
    return 0;
  fprintf(stderr, "ssm-example-generate: %s: %s\n", what,
          ssm_status_message(status));
  ssm_status_free(status);
  return 1;
}

static size_t tensor_bytes(const DLTensor *tensor) {
  size_t bytes = tensor->dtype.bits / 8u;
  for (int32_t d = 0; d < tensor->ndim; ++d)
    bytes *= (size_t)tensor->shape[d];
  return bytes;
}

/* Allocates `owned` with this dtype and shape (never NULL data). */
static int allocate(owned_t *owned, const char *name, DLDataType dtype,
                    int32_t ndim, const int64_t *shape) {
  memset(owned, 0, sizeof(*owned));
  owned->name = name;
  owned->tensor.device.device_type = kDLCPU;
  owned->tensor.dtype = dtype;
  owned->tensor.ndim = ndim;
  owned->tensor.shape = owned->shape;
  memcpy(owned->shape, shape, (size_t)ndim * sizeof(int64_t));
  size_t rounded = (tensor_bytes(&owned->tensor) + 63u) / 64u * 64u;
  owned->tensor.data = aligned_alloc(64, rounded ? rounded : 64);
  return owned->tensor.data == NULL;
}

static void release(owned_t *owned) {
  free(owned->tensor.data);
  owned->tensor.data = NULL;
}

static int ends_with(const char *text, const char *suffix) {
  size_t n = strlen(text), m = strlen(suffix);
  return n >= m && strcmp(text + n - m, suffix) == 0;
}

/* The model's weights (aligned copies of the checkpoint's tensors, which
 * the format does not align) and its states between calls. */
typedef struct {
  ssm_safetensors_t *file;
  owned_t weights[kMaxTensors];
  size_t num_weights;
  owned_t states[kMaxTensors];
  size_t num_states;
} model_t;

static const DLTensor *find(owned_t *list, size_t count, const char *name) {
  for (size_t i = 0; i < count; ++i)
    if (strcmp(list[i].name, name) == 0)
      return &list[i].tensor;
  return NULL;
}

/* The weight `name`, copied from the checkpoint on first use. */
static const DLTensor *weight(model_t *model, const char *name) {
  const DLTensor *found = find(model->weights, model->num_weights, name);
  if (found)
    return found;
  DLTensor view;
  if (report(ssm_safetensors_tensor(model->file, name, &view), name))
    return NULL;
  if (model->num_weights == kMaxTensors) {
    fprintf(stderr, "ssm-example-generate: more than %d weights\n",
            kMaxTensors);
    return NULL;
  }
  owned_t *owned = &model->weights[model->num_weights];
  if (view.ndim > kMaxRank ||
      allocate(owned, name, view.dtype, view.ndim, view.shape))
    return NULL;
  memcpy(owned->tensor.data, view.data, tensor_bytes(&view));
  ++model->num_weights;
  return &owned->tensor;
}

/* `first` then `second` along dim 1 (batch 1: one after the other). */
static int append(owned_t *state, const DLTensor *rows) {
  owned_t joined;
  int64_t shape[kMaxRank];
  memcpy(shape, state->shape, (size_t)state->tensor.ndim * sizeof(int64_t));
  shape[1] += rows->shape[1];
  if (allocate(&joined, state->name, state->tensor.dtype, state->tensor.ndim,
               shape))
    return 1;
  size_t before = tensor_bytes(&state->tensor);
  memcpy(joined.tensor.data, state->tensor.data, before);
  memcpy((char *)joined.tensor.data + before, rows->data, tensor_bytes(rows));
  release(state);
  *state = joined;
  state->tensor.shape = state->shape;
  return 0;
}

/* Runs `function` on `ids` (n of them) from the model's states, which then
 * become the call's; returns the argmax of the last position's logits, or
 * -1 on an error. */
static int64_t step(model_t *model, const ssm_function_t *function,
                    int64_t *ids, int64_t n) {
  static DLTensor inputs[kMaxTensors], views[kMaxTensors];
  static owned_t outputs[kMaxTensors];
  size_t num_inputs = ssm_function_input_count(function);
  size_t num_outputs = ssm_function_output_count(function);
  int64_t ids_shape[2] = {1, n};
  if (num_inputs > kMaxTensors || num_outputs > kMaxTensors ||
      num_outputs < 1)
    return -1;
  for (size_t i = 0; i < num_inputs; ++i) {
    ssm_tensor_signature_t signature;
    if (report(ssm_function_input_signature(function, i, &signature), "input"))
      return -1;
    if (strcmp(signature.name, "input_ids") == 0) {
      memset(&inputs[i], 0, sizeof(DLTensor));
      inputs[i].device.device_type = kDLCPU;
      inputs[i].dtype = signature.dtype;
      inputs[i].ndim = 2;
      inputs[i].shape = ids_shape;
      inputs[i].data = ids;
      continue;
    }
    const DLTensor *given =
        find(model->states, model->num_states, signature.name);
    if (!given)
      given = weight(model, signature.name);
    if (!given)
      return -1;
    inputs[i] = *given;
  }
  size_t allocated = 0;
  int64_t next = -1;
  for (; allocated < num_outputs; ++allocated) {
    ssm_tensor_signature_t signature;
    int64_t shape[kMaxRank];
    if (report(ssm_function_output_signature(function, allocated, &signature),
               "output") ||
        signature.ndim > kMaxRank ||
        report(ssm_function_resolve_output_shape(function, inputs, num_inputs,
                                                 allocated, kMaxRank, shape),
               "output shape") ||
        allocate(&outputs[allocated], signature.name, signature.dtype,
                 signature.ndim, shape))
      goto done;
    views[allocated] = outputs[allocated].tensor;
  }
  if (report(ssm_function_invoke(function, inputs, num_inputs, views,
                                 num_outputs),
             ssm_function_name(function)))
    goto done;
  /* The argmax of the last position's logits [1, L, vocab]. */
  {
    const owned_t *logits = &outputs[0];
    int64_t vocab = logits->shape[2];
    const float *last =
        (const float *)logits->tensor.data + (logits->shape[1] - 1) * vocab;
    next = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (last[v] > last[next])
        next = v;
  }
  /* The next states: whole, or appended to for the caches. */
  for (size_t o = 1; o < num_outputs; ++o) {
    owned_t *previous = NULL;
    for (size_t s = 0; s < model->num_states; ++s)
      if (strcmp(model->states[s].name, outputs[o].name) == 0)
        previous = &model->states[s];
    int cache = ends_with(outputs[o].name, "key_cache") ||
                ends_with(outputs[o].name, "value_cache");
    if (previous && cache) {
      if (append(previous, &outputs[o].tensor))
        next = -1;
      release(&outputs[o]);
    } else if (previous) {
      release(previous);
      *previous = outputs[o];
      previous->tensor.shape = previous->shape;
    } else {
      model->states[model->num_states] = outputs[o];
      model->states[model->num_states].tensor.shape =
          model->states[model->num_states].shape;
      ++model->num_states;
    }
    outputs[o].tensor.data = NULL; /* now the model's */
  }
done:
  for (size_t o = 0; o < allocated; ++o)
    release(&outputs[o]);
  return next;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: %s ARTIFACT_DIR CHECKPOINT_DIR N ID [ID...]\n"
            "  greedy generation of N ids after the prompt IDs\n",
            argv[0]);
    return 2;
  }
  long long count = atoll(argv[3]);
  if (count < 1) {
    fprintf(stderr, "ssm-example-generate: N must be at least 1\n");
    return 2;
  }
  int64_t length = argc - 4;
  int64_t *prompt = malloc((size_t)length * sizeof(int64_t));
  if (!prompt)
    return 2;
  for (int64_t i = 0; i < length; ++i) {
    char *end = NULL;
    prompt[i] = strtoll(argv[4 + i], &end, 10);
    if (!end || *end || prompt[i] < 0) {
      fprintf(stderr, "ssm-example-generate: '%s' is not an id\n",
              argv[4 + i]);
      free(prompt);
      return 2;
    }
  }

  static model_t model;
  ssm_module_t *module = NULL;
  const ssm_function_t *prefill = NULL, *decode = NULL;
  char path[4096];
  int status = 2;
  snprintf(path, sizeof(path), "%s/model.safetensors", argv[2]);
  if (report(ssm_module_load(argv[1], &module), argv[1]) ||
      report(ssm_module_lookup_function(module, "prefill", &prefill),
             "prefill") ||
      report(ssm_module_lookup_function(module, "decode", &decode),
             "decode") ||
      report(ssm_safetensors_open(path, &model.file), path))
    goto done;

  int64_t next = step(&model, prefill, prompt, length);
  printf("prompt:");
  for (int64_t i = 0; i < length; ++i)
    printf(" %lld", (long long)prompt[i]);
  printf("\ngenerated:");
  for (long long i = 0; next >= 0; ++i) {
    printf(" %lld", (long long)next);
    fflush(stdout);
    if (i + 1 == count)
      break;
    next = step(&model, decode, &next, 1);
  }
  printf("\n");
  status = next >= 0 ? 0 : 1;

done:
  for (size_t i = 0; i < model.num_weights; ++i)
    release(&model.weights[i]);
  for (size_t i = 0; i < model.num_states; ++i)
    release(&model.states[i]);
  if (model.file)
    ssm_safetensors_release(model.file);
  if (module)
    ssm_module_release(module);
  free(prompt);
  return status;
}
