// Public surface of the safetensors codec (pure TS: no DOM, GPU or Node APIs).
export { SafetensorsError, isSafetensorsError, type SafetensorsErrorCode } from './errors.ts';
export { DTYPES, dtypeSize, isDtype, type Dtype, type DtypeArray, type TensorData } from './dtypes.ts';
export { DEFAULT_MAX_HEADER_BYTES, type Header, type TensorInfo } from './header.ts';
export { blobSource, bytesSource, type ByteSource } from './source.ts';
export {
  decodeSafetensors,
  openSafetensors,
  type OpenOptions,
  type SafetensorsFile,
  type Tensor,
  type TensorReader,
} from './reader.ts';
export {
  encodeSafetensors,
  planSafetensors,
  tensorBytes,
  type Layout,
  type PlannedTensor,
  type TensorInput,
  type TensorSpec,
} from './writer.ts';
export {
  DEFAULT_INDEX_NAME,
  openSharded,
  parseShardIndex,
  type OpenShard,
  type ShardIndex,
  type ShardedCheckpoint,
} from './sharded.ts';
export { toFloat32 } from './convert.ts';
