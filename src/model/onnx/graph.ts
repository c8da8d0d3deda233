/**
 * A small ONNX graph builder: named inputs/outputs with symbolic dims, initializers from typed
 * arrays, nodes with typed attributes, unique value names. Serializes through ./proto.ts.
 */
import {
  AttributeType,
  DATA_LOCATION_EXTERNAL,
  DataType,
  decodeModel,
  encodeModel,
  type AttributeProtoObj,
  type DataTypeId,
  type ModelProtoObj,
  type NodeProtoObj,
  type TensorProtoObj,
  type ValueInfoProtoObj,
} from './proto.ts';

/** A dim is a fixed size or a symbolic name. */
export type Dim = number | string;
export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: TensorProtoObj };
export type ElemType = 'float32' | 'int64' | 'int32' | 'float16';

export const ELEM_TYPE: Record<ElemType, DataTypeId> = {
  float32: DataType.FLOAT,
  int64: DataType.INT64,
  int32: DataType.INT32,
  float16: DataType.FLOAT16,
};

export const MS_DOMAIN = 'com.microsoft';

const ELEM_BYTES: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.INT32]: 4, [DataType.INT64]: 8 };

function valueInfo(name: string, type: ElemType, dims: readonly Dim[]): ValueInfoProtoObj {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function bytesOf(data: Float32Array | BigInt64Array | Int32Array | Uint16Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function attribute(name: string, v: AttrValue): AttributeProtoObj {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use {float: x} for floats`);
    return { name, type: AttributeType.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if ('float' in v) return { name, type: AttributeType.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: AttributeType.FLOATS, floats: v.floats };
  return { name, type: AttributeType.TENSOR, t: v.tensor };
}

export class GraphBuilder {
  readonly inputs: ValueInfoProtoObj[] = [];
  readonly outputs: ValueInfoProtoObj[] = [];
  readonly initializers: TensorProtoObj[] = [];
  readonly nodes: NodeProtoObj[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`duplicate value name ${name}`);
    this.used.add(name);
    return name;
  }

  /** A value name with the given stem not used so far (claimed when a node/initializer uses it). */
  fresh(stem: string): string {
    let n: string;
    do n = `${stem}_${this.counter++}`;
    while (this.used.has(n));
    return n;
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  /** Declare `value` as a graph output named `name` (an Identity is inserted if they differ). */
  output(value: string, name: string, type: ElemType, dims: readonly Dim[]): string {
    if (value !== name) this.node('Identity', [value], { outputs: [name] });
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  initializer(
    name: string,
    type: ElemType,
    dims: readonly number[],
    data: Float32Array | BigInt64Array | Int32Array | Uint16Array,
  ): string {
    this.initializers.push({ name: this.claim(name), dims: [...dims], dataType: ELEM_TYPE[type], rawData: bytesOf(data) });
    return name;
  }

  /** int64 constant initializer (shapes, axes, indices); dims [] makes a scalar. */
  constI64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(this.fresh('const_i64'), 'int64', dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** Add a node; returns its output names (fresh unless given). */
  node(
    opType: string,
    inputs: readonly string[],
    opts: { outputs?: readonly string[] | number; attrs?: Record<string, AttrValue>; domain?: string; name?: string } = {},
  ): string[] {
    const outs =
      typeof opts.outputs === 'number' || opts.outputs === undefined
        ? Array.from({ length: typeof opts.outputs === 'number' ? opts.outputs : 1 }, () => this.claim(this.fresh(opType)))
        : opts.outputs.map((o) => this.claim(o));
    this.nodes.push({
      name: opts.name ?? `${opType}_${this.nodes.length}`,
      opType,
      ...(opts.domain ? { domain: opts.domain } : {}),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output node. */
  op(opType: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    return this.node(opType, inputs, { ...(attrs ? { attrs } : {}), ...(domain ? { domain } : {}) })[0]!;
  }

  toModel(opts: { opset: number; msOpset?: number; producer?: string; metadata?: Record<string, string> }): ModelProtoObj {
    return {
      irVersion: 8,
      producerName: opts.producer ?? 'twinmerge',
      producerVersion: '0.1.0',
      opsetImport: [
        { domain: '', version: opts.opset },
        { domain: MS_DOMAIN, version: opts.msOpset ?? 1 },
      ],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  encode(opts: Parameters<GraphBuilder['toModel']>[0]): Uint8Array {
    return encodeModel(this.toModel(opts));
  }
}

/**
 * The same model with the graph inputs `names` turned into initializers whose data lies outside the
 * protobuf (data_location EXTERNAL): initializer i reads all of file `locations[i]` (offset 0,
 * `byteLengths[i]` bytes), e.g. onnxruntime-web's `externalData: [{ path, data }]`. Type and dims
 * are the inputs' (all fixed). The bytes do not depend on the data, so one copy serves every
 * weight set of the same shapes; nothing is copied but the graph itself.
 */
export function inputsToExternalInitializers(
  model: Uint8Array,
  names: readonly string[],
): { bytes: Uint8Array; locations: string[]; byteLengths: number[] } {
  const m = decodeModel(model);
  const byName = new Map(m.graph.input.map((v) => [v.name, v]));
  const locations: string[] = [];
  const byteLengths: number[] = [];
  const initializers: TensorProtoObj[] = names.map((name, i) => {
    const v = byName.get(name);
    if (!v) throw new Error(`inputsToExternalInitializers: the graph has no input ${name}`);
    const dims = v.type.tensorType.shape.dim.map((d) => {
      if (!('dimValue' in d) || typeof d.dimValue !== 'number') throw new Error(`inputsToExternalInitializers: input ${name} has a symbolic dim`);
      return d.dimValue;
    });
    const dataType = v.type.tensorType.elemType;
    const size = ELEM_BYTES[dataType];
    if (!size) throw new Error(`inputsToExternalInitializers: input ${name} has element type ${dataType}`);
    const length = dims.reduce((a, b) => a * b, 1) * size;
    const location = `w${i}.bin`;
    locations.push(location);
    byteLengths.push(length);
    return {
      name,
      dims,
      dataType,
      dataLocation: DATA_LOCATION_EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(length) },
      ],
    };
  });
  const drop = new Set(names);
  m.graph.input = m.graph.input.filter((v) => !drop.has(v.name));
  m.graph.initializer = [...(m.graph.initializer ?? []), ...initializers];
  return { bytes: encodeModel(m), locations, byteLengths };
}
