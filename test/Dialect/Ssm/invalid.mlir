// RUN: ssm-opt %s -split-input-file -verify-diagnostics
// Every verifier diagnostic of ssm.mix, and the parser's own errors.

func.func @q_rank(%q: tensor<2x8x4xf32>, %k: tensor<2x8x1x4xf32>, %v: tensor<2x8x1x4xf32>) {
  // expected-error @below {{operand 'q' expected rank 4 [B, Lq, Hq, N], got 'tensor<2x8x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<2x8x4xf32>, tensor<2x8x1x4xf32>, tensor<2x8x1x4xf32>) -> tensor<2x8x1x4xf32>
  return
}

// -----

func.func @y_rank(%q: tensor<2x8x1x4xf32>, %k: tensor<2x8x1x4xf32>, %v: tensor<2x8x1x4xf32>) {
  // expected-error @below {{result 'y' expected rank 4 [B, Lq, H, P], got 'tensor<2x8x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<2x8x1x4xf32>, tensor<2x8x1x4xf32>, tensor<2x8x1x4xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @k_state_size(%q: tensor<2x8x1x4xf32>, %k: tensor<2x8x1x5xf32>, %v: tensor<2x8x1x4xf32>) {
  // expected-error @below {{operand 'k' expected shape [B=2, Lk=8, Hk, N=4] (N as in 'q'), got 'tensor<2x8x1x5xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<2x8x1x4xf32>, tensor<2x8x1x5xf32>, tensor<2x8x1x4xf32>) -> tensor<2x8x1x4xf32>
  return
}

// -----

func.func @v_length(%q: tensor<2x8x1x4xf32>, %k: tensor<2x8x1x4xf32>, %v: tensor<2x9x1x4xf32>) {
  // expected-error @below {{operand 'v' expected shape [B=2, Lk=8, Hv, P] (Lk as in 'k'), got 'tensor<2x9x1x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<2x8x1x4xf32>, tensor<2x8x1x4xf32>, tensor<2x9x1x4xf32>) -> tensor<2x8x1x4xf32>
  return
}

// -----

func.func @k_batch(%q: tensor<2x8x1x4xf32>, %k: tensor<3x8x1x4xf32>, %v: tensor<2x8x1x4xf32>) {
  // expected-error @below {{operand 'k' expected shape [B=2, Lk=8, Hk, N=4] (N as in 'q'), got 'tensor<3x8x1x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<2x8x1x4xf32>, tensor<3x8x1x4xf32>, tensor<2x8x1x4xf32>) -> tensor<2x8x1x4xf32>
  return
}

// -----

func.func @heads_do_not_divide(%q: tensor<1x8x4x4xf32>, %k: tensor<1x8x3x4xf32>, %v: tensor<1x8x4x4xf32>) {
  // expected-error @below {{operand 'k' has 3 heads, which does not divide the 4 output heads H = max(Hq, Hk, Hv)}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x4x4xf32>, tensor<1x8x3x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @y_heads(%q: tensor<1x8x2x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{result 'y' expected shape [B=1, Lq=8, H=2, P=4] (Lq as in 'q', H = max(Hq, Hk, Hv), P as in 'v'), got 'tensor<1x8x1x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x2x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @y_value_dim(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x6xf32>) {
  // expected-error @below {{result 'y' expected shape [B=1, Lq=8, H=1, P=6] (Lq as in 'q', H = max(Hq, Hk, Hv), P as in 'v'), got 'tensor<1x8x1x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x6xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @dynamic_heads(%q: tensor<1x8x?x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{operand 'q' must have a static head count Hq (dimension 2), got 'tensor<1x8x?x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x?x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @dynamic_value_dim(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x?xf32>) {
  // expected-error @below {{operand 'v' must have a static value head dim P (dimension 3), got 'tensor<1x8x1x?xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x?xf32>) -> tensor<1x8x1x?xf32>
  return
}

// -----

func.func @dynamic_length_mismatch(%q: tensor<1x?x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x9x1x4xf32>) {
  // expected-error @below {{operand 'v' expected shape [B=1, Lk=8, Hv, P] (Lk as in 'k'), got 'tensor<1x9x1x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x?x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x9x1x4xf32>) -> tensor<1x?x1x4xf32>
  return
}

// -----

// Queries against a cache are the last Lq of the Lk positions: Lq <= Lk.
func.func @more_queries_than_keys(%q: tensor<1x9x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{operand 'q' expected shape [B, Lq, Hq, N] with Lq <= Lk=8 (queries against a cache are the last Lq of the Lk key positions), got 'tensor<1x9x1x4xf32>'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v : (tensor<1x9x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x9x1x4xf32>
  return
}

// -----

func.func @more_outputs_than_keys(%q: tensor<1x?x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{result 'y' expected shape [B, Lq, H, P] with Lq <= Lk=8 (queries against a cache are the last Lq of the Lk key positions), got 'tensor<1x9x1x4xf32>'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v : (tensor<1x?x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x9x1x4xf32>
  return
}

// -----

func.func @cache_value_length(%q: tensor<1x1x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x7x1x4xf32>) {
  // expected-error @below {{operand 'v' expected shape [B=1, Lk=8, Hv, P] (Lk as in 'k'), got 'tensor<1x7x1x4xf32>'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v : (tensor<1x1x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x7x1x4xf32>) -> tensor<1x1x1x4xf32>
  return
}

// -----

func.func @cache_output_length(%q: tensor<1x1x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{result 'y' expected shape [B=1, Lq=1, H=1, P=4] (Lq as in 'q', H = max(Hq, Hk, Hv), P as in 'v'), got 'tensor<1x8x1x4xf32>'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v : (tensor<1x1x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

// For a linear score with a decay or a state, the cache is the state.
func.func @cache_with_decay(%q: tensor<1x1x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>,
                            %dt: tensor<1x8x1xf32>, %A: tensor<1xf32>) {
  // expected-error @below {{operand 'dt' expected shape [B, L, H] with L = Lq = Lk: a decay needs as many queries as keys (Lq = Lk); for queries against a cache with a linear score the cache is the state: decode is L = 1 with 'initial_state', got Lq = 1 and Lk = 8}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x1x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1xf32>, tensor<1xf32>) -> tensor<1x1x1x4xf32>
  return
}

// -----

func.func @cache_with_initial_state(%q: tensor<1x5x1x4xf32>, %k: tensor<1x13x1x4xf32>, %v: tensor<1x13x1x4xf32>,
                                    %s0: tensor<1x1x4x4xf32>) {
  // expected-error @below {{operand 'initial_state' [B, H, P, N] needs as many queries as keys (Lq = Lk); for queries against a cache with a linear score the cache is the state: decode is L = 1 with 'initial_state', got Lq = 5 and Lk = 13}}
  %y = ssm.mix linear causal %q, %k, %v initial_state(%s0)
      : (tensor<1x5x1x4xf32>, tensor<1x13x1x4xf32>, tensor<1x13x1x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x5x1x4xf32>
  return
}

// -----

func.func @cache_with_final_state(%q: tensor<1x5x1x4xf32>, %k: tensor<1x13x1x4xf32>, %v: tensor<1x13x1x4xf32>) {
  // expected-error @below {{result 'final_state' [B, H, P, N] needs as many queries as keys (Lq = Lk); for queries against a cache with a linear score the cache is the state: decode is L = 1 with 'initial_state', got Lq = 5 and Lk = 13}}
  %y, %s = ssm.mix linear causal %q, %k, %v
      : (tensor<1x5x1x4xf32>, tensor<1x13x1x4xf32>, tensor<1x13x1x4xf32>) -> (tensor<1x5x1x4xf32>, tensor<1x1x4x4xf32>)
  return
}

// -----

func.func @mixed_qk_types(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xbf16>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{'k' expected element type 'f32' (as 'q'), got 'bf16'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xbf16>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @y_type(%q: tensor<1x8x1x4xbf16>, %k: tensor<1x8x1x4xbf16>, %v: tensor<1x8x1x4xbf16>) {
  // expected-error @below {{'y' expected element type 'bf16' (as 'v'), got 'f32'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x1x4xbf16>, tensor<1x8x1x4xbf16>, tensor<1x8x1x4xbf16>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @integer_operand(%q: tensor<1x8x1x4xi32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{operand #0 must be ranked tensor of floating-point values}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x1x4xi32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @softmax_without_scale(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{score 'softmax' requires a scale, e.g. softmax(scale = 2.500000e-01)}}
  %y = ssm.mix softmax causal %q, %k, %v : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @linear_with_scale(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{score 'linear' takes no scale}}
  %y = ssm.mix linear(scale = 2.0) causal %q, %k, %v : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @softmax_with_decay(%q: tensor<1x8x2x4xf32>, %k: tensor<1x8x2x4xf32>, %v: tensor<1x8x2x4xf32>,
                              %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>) {
  // expected-error @below {{score 'softmax' cannot be combined with a decay (no finite-state form)}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x2x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<2xf32>) -> tensor<1x8x2x4xf32>
  return
}

// -----

func.func @softmax_with_initial_state(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>,
                                      %s0: tensor<1x1x4x4xf32>) {
  // expected-error @below {{score 'softmax' cannot take an 'initial_state' (no finite-state form)}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v initial_state(%s0)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @softmax_with_final_state(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{score 'softmax' cannot produce a 'final_state' (no finite-state form)}}
  %y, %s = ssm.mix softmax(scale = 0.5) causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>)
  return
}

// -----

func.func @dt_shape(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x2x4xf32>,
                    %dt: tensor<1x8x1xf32>, %A: tensor<2xf32>) {
  // expected-error @below {{operand 'dt' expected shape [B=1, L=8, H=2], got 'tensor<1x8x1xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x1xf32>, tensor<2xf32>) -> tensor<1x8x2x4xf32>
  return
}

// -----

func.func @scalar_decay_shape(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x2x4xf32>,
                              %dt: tensor<1x8x2xf32>, %A: tensor<3xf32>) {
  // expected-error @below {{operand 'A' expected shape [H=2] (scalar decay) or [H=2, N=4] (diagonal decay), got 'tensor<3xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<3xf32>) -> tensor<1x8x2x4xf32>
  return
}

// -----

func.func @diagonal_decay_shape(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x6x1xf32>,
                                %dt: tensor<1x8x6xf32>, %A: tensor<6x8xf32>) {
  // expected-error @below {{operand 'A' expected shape [H=6] (scalar decay) or [H=6, N=16] (diagonal decay), got 'tensor<6x8xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x6x1xf32>, tensor<1x8x6xf32>, tensor<6x8xf32>) -> tensor<1x8x6x1xf32>
  return
}

// -----

func.func @decay_types(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>,
                       %dt: tensor<1x8x1xf32>, %A: tensor<1xf16>) {
  // expected-error @below {{'A' expected element type 'f32' (as 'dt'), got 'f16'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1xf32>, tensor<1xf16>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @decay_with_full_mask(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>,
                                %dt: tensor<1x8x1xf32>, %A: tensor<1xf32>) {
  // expected-error @below {{a decay needs a causal or window mask, got 'full'}}
  %y = ssm.mix linear full %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1xf32>, tensor<1xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @initial_state_shape(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x2x3xf32>,
                               %s0: tensor<1x2x4x3xf32>) {
  // expected-error @below {{operand 'initial_state' expected shape [B=1, H=2, P=3, N=4], got 'tensor<1x2x4x3xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v initial_state(%s0)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x2x3xf32>, tensor<1x2x4x3xf32>) -> tensor<1x8x2x3xf32>
  return
}

// -----

func.func @final_state_shape(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x2x3xf32>) {
  // expected-error @below {{result 'final_state' expected shape [B=1, H=2, P=3, N=4], got 'tensor<1x1x3x4xf32>'}}
  %y, %s = ssm.mix linear causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x2x3xf32>) -> (tensor<1x8x2x3xf32>, tensor<1x1x3x4xf32>)
  return
}

// -----

func.func @state_types(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>,
                       %s0: tensor<1x1x4x4xf32>) {
  // expected-error @below {{'final_state' expected element type 'f32' (as 'initial_state'), got 'f16'}}
  %y, %s = ssm.mix linear causal %q, %k, %v initial_state(%s0)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>) -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf16>)
  return
}

// -----

func.func @state_with_window(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{a state ('initial_state' or 'final_state') needs a causal mask}}
  %y, %s = ssm.mix linear window(4) %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>)
  return
}

// -----

func.func @recurrent_softmax(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'recurrent' is illegal for score 'softmax' (no finite-state form); use 'quadratic'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v algorithm<recurrent>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @chunked_softmax(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'chunked' is illegal for score 'softmax' (no finite-state form); use 'quadratic'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v algorithm<chunked, chunk_size = 4>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @chunked_full_mask(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'chunked' needs a causal mask, got 'full'; use 'quadratic'}}
  %y = ssm.mix linear full %q, %k, %v algorithm<chunked, chunk_size = 4>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @recurrent_window(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'recurrent' needs a causal mask, got 'window'; use 'quadratic'}}
  %y = ssm.mix linear window(2) %q, %k, %v algorithm<recurrent>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @recurrent_cache(%q: tensor<1x1x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'recurrent' needs as many queries as keys (Lq = Lk), got queries against a cache (Lq < Lk); use 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent>
      : (tensor<1x1x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x1x1x4xf32>
  return
}

// -----

func.func @chunked_cache(%q: tensor<1x5x1x4xf32>, %k: tensor<1x13x1x4xf32>, %v: tensor<1x13x1x4xf32>) {
  // expected-error @below {{algorithm 'chunked' needs as many queries as keys (Lq = Lk), got queries against a cache (Lq < Lk); use 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 4>
      : (tensor<1x5x1x4xf32>, tensor<1x13x1x4xf32>, tensor<1x13x1x4xf32>) -> tensor<1x5x1x4xf32>
  return
}

// -----

func.func @chunk_size_zero(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'chunked' expects a positive chunk_size, got 0}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 0>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @chunk_size_too_large(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'chunked' takes chunk_size at most 1024, got 5000}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 5000>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @chunk_size_on_recurrent(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{algorithm 'recurrent' takes no chunk_size}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, chunk_size = 16>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @kernel_of_another_algorithm(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{kernel 'chunked_mma' runs algorithm 'chunked', not 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic, kernel = chunked_mma>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @vector_width_without_loops(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{vector_width goes with kernel 'loops' only, as a power of two in [1, 64], got 8}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = row_sliced, vector_width = 8>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @loops_without_vector_width(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{vector_width goes with kernel 'loops' only, as a power of two in [1, 64], got 0}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = loops>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @vector_width_not_power_of_two(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{vector_width goes with kernel 'loops' only, as a power of two in [1, 64], got 3}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = loops, vector_width = 3>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @vector_width_too_large(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{vector_width goes with kernel 'loops' only, as a power of two in [1, 64], got 128}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = loops, vector_width = 128>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @warp_row_tiles_three(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{warp_row_tiles goes with kernel 'quadratic_mma' only, as 1 or 2, got 3}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 3>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @warp_row_tiles_on_simt(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{warp_row_tiles goes with kernel 'quadratic_mma' only, as 1 or 2, got 2}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic, kernel = quadratic_simt, warp_row_tiles = 2>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @blocks_per_sm_four(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{blocks_per_sm goes with kernel 'chunked_mma' only, as 2 or 3, got 4}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 4>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @chunked_mma_without_blocks_per_sm(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{blocks_per_sm goes with kernel 'chunked_mma' only, as 2 or 3, got 0}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_mma>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @blocks_per_sm_on_simt(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{blocks_per_sm goes with kernel 'chunked_mma' only, as 2 or 3, got 2}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_simt, blocks_per_sm = 2>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @segments_not_power_of_two(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{segments goes with kernel 'chunked_mma' and blocks_per_sm = 2 only, as a power of two in [2, 64], got 3}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2, segments = 3>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @segments_with_three_blocks_per_sm(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{segments goes with kernel 'chunked_mma' and blocks_per_sm = 2 only, as a power of two in [2, 64], got 4}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 3, segments = 4>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @segments_on_simt(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{segments goes with kernel 'chunked_mma' and blocks_per_sm = 2 only, as a power of two in [2, 64], got 2}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_simt, segments = 2>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @unknown_kernel(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{unknown kernel 'wgmma', expected loops, row_per_thread, row_sliced, chunked_simt, chunked_mma, quadratic_simt, quadratic_mma or quadratic_wgmma}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic, kernel = wgmma>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @unknown_plan_parameter(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{unknown algorithm parameter 'tile', expected chunk_size, kernel, vector_width, warp_row_tiles, blocks_per_sm or segments}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic, tile = 4>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @window_zero(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{mask 'window' expects a positive width, got 0}}
  %y = ssm.mix softmax(scale = 1.0) window(0) %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @unknown_score(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{unknown score 'sigmoid', expected 'linear' or 'softmax(scale = S)'}}
  %y = ssm.mix sigmoid causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @unknown_mask(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{unknown mask 'anticausal', expected 'causal', 'full' or 'window(W)'}}
  %y = ssm.mix linear anticausal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

// expected-error @below {{unknown algorithm 'blocked', expected 'quadratic', 'recurrent' or 'chunked'}}
func.func @unknown_algorithm() attributes {a = #ssm.algorithm<blocked>} {
  return
}

// -----

func.func @decay_without_a(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>,
                           %dt: tensor<1x8x1xf32>) {
  // expected-error @below {{a decay needs both 'dt' and 'A'}}
  %y = "ssm.mix"(%q, %k, %v, %dt) <{score = #ssm.score<linear>, mask = #ssm.mask<causal>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1xf32>) -> tensor<1x8x1x4xf32>
  return
}

// -----

func.func @dynamic_output_heads(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  // expected-error @below {{result 'y' must have a static head count H (dimension 2), got 'tensor<1x8x?x4xf32>'}}
  %y = ssm.mix linear causal %q, %k, %v : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x?x4xf32>
  return
}

// -----

func.func @chunked_diagonal_decay(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x6x1xf32>,
                                  %dt: tensor<1x8x6xf32>, %A: tensor<6x4xf32>) {
  // expected-error @below {{algorithm 'chunked' needs a scalar (or no) decay; a diagonal decay (A [H, N]) takes 'recurrent' or 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<chunked, chunk_size = 4>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x6x1xf32>, tensor<1x8x6xf32>, tensor<6x4xf32>) -> tensor<1x8x6x1xf32>
  return
}
