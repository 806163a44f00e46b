/** The parts of an Amazon States Language definition that the domain reads (cost model, graph). */
export interface AslState {
  Type: string;
  Comment?: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: (Record<string, unknown> & { Next: string })[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: AslDefinition;
  Iterator?: AslDefinition;
}

export interface AslDefinition {
  StartAt: string;
  Comment?: string;
  States: Record<string, unknown>;
}
