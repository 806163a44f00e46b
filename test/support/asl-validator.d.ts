declare module 'asl-validator' {
  interface Result {
    isValid: boolean;
    errors: { 'Error code': string; Message: string }[];
  }
  export default function aslValidator(definition: unknown, options?: { checkArn?: boolean; checkPaths?: boolean }): Result;
}
