/**
 * The subset of onnx.proto (ONNX IR, proto2) this project writes and reads, as a protobufjs JSON
 * descriptor. Field numbers are onnx.proto's; names are camelCase (protobufjs' object form).
 *
 * Why a descriptor and not the `onnx-proto` npm package: that package pins protobufjs 6 (a second
 * copy next to the protobufjs 7 that onnxruntime-web already brings) and ships the whole schema;
 * the ~60 lines below are all we need and are checked against ORT by the tests.
 */
import protobuf from 'protobufjs/light.js';

const f = (type: string, id: number, rule?: 'repeated') =>
  rule ? { type, id, rule } : { type, id };

const descriptor = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: f('string', 1),
            f: f('float', 2),
            i: f('int64', 3),
            s: f('bytes', 4),
            t: f('TensorProto', 5),
            g: f('GraphProto', 6),
            floats: f('float', 7, 'repeated'),
            ints: f('int64', 8, 'repeated'),
            strings: f('bytes', 9, 'repeated'),
            docString: f('string', 13),
            type: f('int32', 20),
          },
        },
        ValueInfoProto: {
          fields: { name: f('string', 1), type: f('TypeProto', 2), docString: f('string', 3) },
        },
        NodeProto: {
          fields: {
            input: f('string', 1, 'repeated'),
            output: f('string', 2, 'repeated'),
            name: f('string', 3),
            opType: f('string', 4),
            attribute: f('AttributeProto', 5, 'repeated'),
            docString: f('string', 6),
            domain: f('string', 7),
          },
        },
        StringStringEntryProto: { fields: { key: f('string', 1), value: f('string', 2) } },
        OperatorSetIdProto: { fields: { domain: f('string', 1), version: f('int64', 2) } },
        ModelProto: {
          fields: {
            irVersion: f('int64', 1),
            producerName: f('string', 2),
            producerVersion: f('string', 3),
            domain: f('string', 4),
            modelVersion: f('int64', 5),
            docString: f('string', 6),
            graph: f('GraphProto', 7),
            opsetImport: f('OperatorSetIdProto', 8, 'repeated'),
            metadataProps: f('StringStringEntryProto', 14, 'repeated'),
          },
        },
        GraphProto: {
          fields: {
            node: f('NodeProto', 1, 'repeated'),
            name: f('string', 2),
            initializer: f('TensorProto', 5, 'repeated'),
            docString: f('string', 10),
            input: f('ValueInfoProto', 11, 'repeated'),
            output: f('ValueInfoProto', 12, 'repeated'),
            valueInfo: f('ValueInfoProto', 13, 'repeated'),
          },
        },
        TensorProto: {
          fields: {
            dims: f('int64', 1, 'repeated'),
            dataType: f('int32', 2),
            floatData: f('float', 4, 'repeated'),
            int32Data: f('int32', 5, 'repeated'),
            int64Data: f('int64', 7, 'repeated'),
            name: f('string', 8),
            rawData: f('bytes', 9),
            docString: f('string', 12),
            externalData: f('StringStringEntryProto', 13, 'repeated'),
            dataLocation: f('int32', 14),
          },
        },
        TensorShapeProto: {
          fields: { dim: f('Dimension', 1, 'repeated') },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: f('int64', 1), dimParam: f('string', 2), denotation: f('string', 3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: f('Tensor', 1), denotation: f('string', 6) },
          nested: {
            Tensor: { fields: { elemType: f('int32', 1), shape: f('TensorShapeProto', 2) } },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const ModelProtoType = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorProtoObj {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  /** With dataLocation EXTERNAL: `location`, `offset`, `length` (bytes) of the data in a file ORT is given. */
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
}

/** TensorProto.DataLocation.EXTERNAL: the data lies outside the protobuf (see TensorProtoObj.externalData). */
export const DATA_LOCATION_EXTERNAL = 1;
export interface AttributeProtoObj {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoObj;
  floats?: number[];
  ints?: number[];
}
export interface NodeProtoObj {
  name: string;
  opType: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: AttributeProtoObj[];
}
export interface ValueInfoProtoObj {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } };
}
export interface GraphProtoObj {
  name: string;
  node: NodeProtoObj[];
  initializer: TensorProtoObj[];
  input: ValueInfoProtoObj[];
  output: ValueInfoProtoObj[];
}
export interface ModelProtoObj {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  graph: GraphProtoObj;
  opsetImport: { domain: string; version: number }[];
  metadataProps?: { key: string; value: string }[];
}

/** Serialize a model to ONNX protobuf bytes. */
export function encodeModel(model: ModelProtoObj): Uint8Array {
  const msg = ModelProtoType.fromObject(model);
  return ModelProtoType.encode(msg).finish();
}

/** Parse ONNX protobuf bytes (int64 fields come back as numbers). */
export function decodeModel(bytes: Uint8Array): ModelProtoObj {
  const msg = ModelProtoType.decode(bytes);
  return ModelProtoType.toObject(msg, { longs: Number, defaults: false, arrays: true }) as ModelProtoObj;
}
