/**
 * The round loop every suite shares: each round measures every arm once, the order rotated
 * each round, so no arm always runs first (or right after the same neighbour) and machine
 * noise lands on all arms alike.
 */
import { explainFailure, log } from './bench-log'
import type { Managed } from './processes'

export interface RoundArm<N extends string> {
  readonly name: N
  readonly procs: readonly Managed[]
}

/**
 * Measures `arms` for `rounds` rounds and returns each arm's samples, by name. A round's
 * progress line is `describe` of its sample; a failure is explained by the arm's processes
 * and `sharedProcs` (backends every arm uses).
 */
export async function runInterleavedRounds<N extends string, A extends RoundArm<N>, S>(
  arms: readonly A[],
  rounds: number,
  measure: (arm: A, round: number) => Promise<S>,
  describe: (sample: S) => string,
  sharedProcs: readonly Managed[] = [],
): Promise<Map<N, S[]>> {
  const samples = new Map<N, S[]>(arms.map((a) => [a.name, []]))
  for (let round = 0; round < rounds; round++) {
    const shift = round % arms.length
    for (const arm of [...arms.slice(shift), ...arms.slice(0, shift)]) {
      const s = await measure(arm, round + 1).catch(async (err: unknown) => {
        throw new Error(`${arm.name}, round ${round + 1}: ${await explainFailure(err, [...arm.procs, ...sharedProcs])}`)
      })
      samples.get(arm.name)!.push(s)
      log(`round ${round + 1}/${rounds} ${arm.name.padEnd(8)} ${describe(s)}`)
    }
  }
  return samples
}
