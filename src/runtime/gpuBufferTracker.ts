// Counts the live GPU buffers of a device (ours and onnxruntime's alike) by wrapping createBuffer and
// destroy. Cheap; used for the memory report and the test that nothing grows across messages.
export interface LiveBuffers {
  count: number;
  bytes: number;
}

export function trackBuffers(device: GPUDevice): () => LiveBuffers {
  const live = new Map<GPUBuffer, number>();
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create(desc);
    live.set(buffer, buffer.size);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return () => {
    let bytes = 0;
    for (const b of live.values()) bytes += b;
    return { count: live.size, bytes };
  };
}
