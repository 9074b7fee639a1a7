// Package filter implements the Azure Service Bus subscription rule
// languages: SQL filters, SQL rule actions, correlation filters and the
// TrueFilter/FalseFilter pair. It is a pure leaf package: it imports only the
// standard library, and the broker plugs in its messages through the small
// Message and MutableMessage interfaces.
//
// # Usage
//
//	f, err := filter.Compile("color = 'red' AND quantity > 10")
//	if err != nil { ... }          // a *filter.SyntaxError with the position
//	if f.Match(msg) { ... }        // msg implements filter.Message
//
//	a, err := filter.CompileAction("SET quantity = quantity / 2; REMOVE priority")
//	err = a.Apply(msgCopy)         // msgCopy implements filter.MutableMessage
//
//	c := filter.Correlation{CorrelationID: "high", Subject: "red"}
//	c.Match(msg)
//
// SqlFilter.Parameters and CorrelationFilter.Properties arrive in the
// administration API as XML Schema typed values; ParseXSD and FormatXSD
// convert them to and from Value.
//
// Compiled filters and actions are immutable and safe for concurrent use.
// Evaluation of typical filters does not allocate.
//
// # Grammar
//
// Keywords and property names are case-insensitive; white space separates
// tokens. Operator precedence, loosest first: OR; AND; NOT; comparisons,
// IS, IN, LIKE; binary + and -; *, / and %; unary + and -.
//
//	filter      = predicate
//	predicate   = predicate OR predicate | predicate AND predicate
//	            | NOT predicate
//	            | expression ( "=" | "<>" | "!=" | ">" | ">=" | "<" | "<=" ) expression
//	            | property IS [NOT] NULL
//	            | expression [NOT] IN "(" expression { "," expression } ")"
//	            | expression [NOT] LIKE expression [ESCAPE expression]
//	            | EXISTS "(" property ")"
//	            | "(" predicate ")"
//	            | expression                       (a boolean property or constant)
//	expression  = constant | function | property | parameter
//	            | expression ( "+" | "-" | "*" | "/" | "%" ) expression
//	            | ( "+" | "-" ) expression
//	            | "(" expression ")"
//	property    = [ ( "sys" | "user" ) "." ] name
//	name        = regular | quoted | delimited
//	regular     = letter { "_" | letter | digit }  (Unicode letters and digits; not a keyword)
//	quoted      = '"' { any character, '""' for '"' } '"'
//	delimited   = "[" { any character, "]]" for "]" } "]"
//	function    = "newid" "(" ")" | ( "property" | "p" ) "(" expression ")"
//	constant    = integer | decimal | approximate | string | TRUE | FALSE | NULL
//	integer     = digit { digit }                 (int64)
//	decimal     = digit { digit } "." { digit } | "." digit { digit }   (float64)
//	approximate = decimal-or-integer ( "e" | "E" ) [ "+" | "-" ] digit { digit }
//	string      = "'" { any character, "''" for "'" } "'"
//	parameter   = "@" { "_" | letter | digit }     (value from Options.Parameters)
//
//	action      = statement { [ ";" ] statement } [ ";" ]
//	statement   = SET property "=" expression { "," property "=" expression }
//	            | REMOVE property
//
// Reserved keywords: AND, OR, NOT, IS, NULL, IN, LIKE, ESCAPE, EXISTS, TRUE,
// FALSE. After a sys. or user. scope any identifier is a property name.
//
// # Semantics
//
// Properties without a scope, or with user., are application properties; a
// missing one is NULL ("unknown"). sys. names a system property (see SysProp
// and LookupSysProp); an unknown sys. name is a compile error, and a system
// property the message does not carry is NULL.
//
// Logic is three-valued. Arithmetic, comparison and LIKE with a NULL operand
// give UNKNOWN; IN gives UNKNOWN when its left operand is NULL; AND, OR and
// NOT follow the SQL truth tables; a filter matches only when the result is
// TRUE. Comparing incompatible kinds (a string with a number, a bool with
// anything but a bool, ordering of bools) is UNKNOWN, not an error.
//
// Numbers follow C# promotion: long op long is long (wrapping on overflow,
// except integer division or remainder by zero and MinInt64 / -1, which are
// evaluation errors), and any double makes the operation double. '+' on two
// strings concatenates. Times and durations (from @parameters or system
// properties) support time ± duration, time - time and duration ± duration,
// and compare with their own kind.
//
// LIKE is case-sensitive; '%' matches any run of characters, '_' one
// character, and ESCAPE (a one-character string) makes the following pattern
// character literal. String comparison is ordinal and case-sensitive.
//
// An action runs its statements in order; later expressions see earlier
// changes. SET of a missing or UNKNOWN value stores NULL; REMOVE of a system
// property clears it. Read-only system properties (SequenceNumber,
// EnqueuedTimeUtc, DeliveryCount, …) cannot be targets.
//
// # Limits
//
// Text is limited to Options.MaxLength characters (default 1,024, Azure's
// limit), actions to Options.MaxActionStatements statements (default 32), and
// nesting to 1,000 levels. Every compile error is a *SyntaxError carrying the
// byte offset, line, column and offending token, and unwrapping to one of the
// Err* classes.
package filter
