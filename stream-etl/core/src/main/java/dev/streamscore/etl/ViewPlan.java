package dev.streamscore.etl;

/**
 * A view prepared for processing: which cleaned columns its tiles carry and which of them keep
 * sketches.
 */
record ViewPlan(
    ViewSpec spec,
    int number,
    String[] columns,
    int[] columnIndex,
    boolean[] sketches,
    String fingerprint) {

  static ViewPlan of(ViewSpec spec, int number, SourceSpec source, Cleanser cleanser) {
    String[] columns = spec.columns().toArray(String[]::new);
    int[] index = new int[columns.length];
    boolean[] sketches = new boolean[columns.length];
    for (int c = 0; c < columns.length; c++) {
      index[c] = cleanser.indexOf(columns[c]);
      if (index[c] < 0) {
        throw new IllegalArgumentException(
            "view '"
                + spec.name()
                + "' reads column '"
                + columns[c]
                + "', which source '"
                + source.name()
                + "' lacks");
      }
      sketches[c] = spec.sketches(columns[c]);
    }
    return new ViewPlan(spec, number, columns, index, sketches, spec.fingerprint(source));
  }
}
