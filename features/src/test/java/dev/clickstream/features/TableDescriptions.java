package dev.clickstream.features;

import java.util.List;
import java.util.stream.Collectors;

/** How the tests of declarations compare the tables they derive: everything that decides a table's SQL. */
final class TableDescriptions {
  private TableDescriptions() {}

  /** Name, columns in order with type, role and nullability, keys, indexes and replace rule. */
  static List<String> describe(FeatureTable table) {
    List<String> description =
        table.columns().stream()
            .map(c -> c.name() + " " + c.type() + " " + c.role() + (c.nullable() ? " nullable" : ""))
            .collect(Collectors.toList());
    description.add(0, table.name());
    description.add("key " + table.keyColumns().stream().map(FeatureTable.Column::name).collect(Collectors.toList()));
    description.add("indexes " + table.indexes());
    description.add("replace when " + table.replaceRule());
    return description;
  }
}
