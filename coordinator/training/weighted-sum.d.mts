export interface SumTask {
  out: Float32Array;
  grads: Float32Array[];
  weights: number[];
  start: number;
  end: number;
}
export default function sumTask(task: SumTask): number;
