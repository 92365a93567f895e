// Parses a Jenkinsfile with Groovy's own parser (to the CONVERSION phase: syntax only, no class
// resolution, so Jenkins' steps need not exist here) and prints what the tests check as JSON:
// every method call with its enclosing calls, its first argument and its named arguments.
// A syntax error ends the script with Groovy's message and a non-zero exit.
import groovy.json.JsonOutput
import org.codehaus.groovy.ast.CodeVisitorSupport
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.GStringExpression
import org.codehaus.groovy.ast.expr.MapExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.TupleExpression
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.Phases

class CallCollector extends CodeVisitorSupport {
    List<Map> calls = []
    List<String> enclosing = []

    static Object describe(expression) {
        if (expression instanceof ConstantExpression) {
            return [kind: 'constant', value: expression.value]
        }
        if (expression instanceof GStringExpression) {
            return [kind: 'gstring', value: expression.text]
        }
        return [kind: expression.class.simpleName, value: expression.text]
    }

    void visitMethodCallExpression(MethodCallExpression call) {
        def arguments = call.arguments instanceof TupleExpression ? call.arguments.expressions : []
        def named = [:]
        def positional = []
        arguments.each { argument ->
            if (argument instanceof MapExpression) {
                argument.mapEntryExpressions.each { entry -> named[entry.keyExpression.text] = describe(entry.valueExpression) }
            } else {
                positional << describe(argument)
            }
        }
        def first = positional ? positional[0] : null
        calls << [name: call.methodAsString, line: call.lineNumber, first: first, named: named,
                  enclosing: new ArrayList(enclosing)]
        enclosing.push(call.methodAsString + (first?.kind == 'constant' ? "(${first.value})" : ''))
        super.visitMethodCallExpression(call)
        enclosing.pop()
    }
}

def unit = new CompilationUnit(new CompilerConfiguration())
def source = unit.addSource(new File(args[0]))
unit.compile(Phases.CONVERSION)
def collector = new CallCollector()
source.AST.statementBlock.visit(collector)
println JsonOutput.toJson([calls: collector.calls])
