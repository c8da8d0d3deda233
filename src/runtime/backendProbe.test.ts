// The backend a model gets: 'auto' keeps a hardware GPU and small models on a software adapter, and
// leaves large models on a software adapter to WASM; an explicit choice is always kept.
import { describe, expect, it } from 'vitest';
import { chooseForModel, SOFTWARE_ADAPTER_MAX_PARAMETERS, type WebGpuBackend } from './backendProbe.ts';

const gpu = (isSoftware: boolean): WebGpuBackend => ({ kind: 'webgpu', adapterName: isSoftware ? 'SwiftShader Device' : 'NVIDIA', vendor: 'v', architecture: '', isSoftware, shaderF16: false, maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 });

describe('chooseForModel', () => {
  it('auto on a software adapter: WebGPU for the demo size, WASM with the reason above the threshold', () => {
    expect(chooseForModel(gpu(true), 'auto', 770_000)).toEqual(gpu(true));
    const big = chooseForModel(gpu(true), 'auto', 134_515_008);
    expect(big.kind).toBe('wasm');
    expect(big.kind === 'wasm' && big.reason).toMatch(/SwiftShader Device\) is a software emulation: for a model of 135 M parameters WASM is much faster here. Choose WebGPU in the settings/);
    expect(chooseForModel(gpu(true), 'auto', SOFTWARE_ADAPTER_MAX_PARAMETERS).kind).toBe('webgpu');
  });

  it('a hardware adapter, or WebGPU chosen in the settings, keeps WebGPU at any size', () => {
    expect(chooseForModel(gpu(false), 'auto', 5e9)).toEqual(gpu(false));
    expect(chooseForModel(gpu(true), 'webgpu', 5e9)).toEqual(gpu(true));
  });
});
