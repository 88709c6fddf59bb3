using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class IdempotencyKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "idempotency_key",
                table: "jobs",
                type: "nvarchar(255)",
                maxLength: 255,
                nullable: true,
                collation: "Latin1_General_100_BIN2");

            migrationBuilder.CreateIndex(
                name: "ux_jobs_owner_idempotency_key",
                table: "jobs",
                columns: new[] { "owner_key_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ux_jobs_owner_idempotency_key",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "idempotency_key",
                table: "jobs");
        }
    }
}
